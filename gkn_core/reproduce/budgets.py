"""How big each claim's runs are at each budget: `quick` (at most 15 minutes on 2 CPU cores), `paper`
(the papers' sizes, for a GPU) and `tiny` (the smallest settings, for tests only: numbers too noisy
to mean anything)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from gkn_core.errors import ConfigError


@dataclass(frozen=True)
class Budget:
    name: str
    seeds: int  # seeds of every GKN sweep and chaos sweep
    # (a) over-generalisation against depth, presets 1d and 2d
    depth_layers: tuple[int, ...]
    depth_steps: int
    # (b) corner loss against the number of points, d = 2 and 4
    points_n: tuple[int, ...]
    points_dims: tuple[int, ...]
    points_steps: int
    # (c) digits8 image samples against depth
    image_layers: tuple[int, ...]
    image_hidden: int
    image_batch: int
    image_steps: int
    image_chains: int
    image_generations: int
    # chaos runs of (d)-(g): digits8 data
    chaos_steps: int
    chaos_metrics_every: int
    chaos_M: int
    chaos_Nh: int
    chaos_T: float
    chaos_data: str  # chaos data source of (d)-(g)
    score_n: int  # chains of score_times
    score_times: tuple[float, ...]
    # (f) Lyapunov exponents
    lyap_g: tuple[float, ...]
    lyap_steps: int
    lyap_chains: int
    change_chains: int
    change_steps: int
    # (h) Fashion-MNIST
    fashion_steps: int
    fashion_Nh: int
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


TINY = Budget(
    name="tiny",
    seeds=2,
    depth_layers=(2, 4),
    depth_steps=60,
    points_n=(1, 16),
    points_dims=(2, 4),
    points_steps=60,
    image_layers=(2, 4),
    image_hidden=16,
    image_batch=64,
    image_steps=20,
    image_chains=32,
    image_generations=5,
    chaos_steps=6,
    chaos_metrics_every=3,
    chaos_M=16,
    chaos_Nh=12,
    chaos_T=10.0,
    chaos_data="digits8",
    score_n=64,
    score_times=(5.0, 10.0, 20.0),
    lyap_g=(0.5, 2.0),
    lyap_steps=20,
    lyap_chains=2,
    change_chains=3,
    change_steps=20,
    fashion_steps=2,
    fashion_Nh=8,
)
QUICK = Budget(
    name="quick",
    seeds=3,
    depth_layers=(2, 4, 7, 10),
    depth_steps=1000,
    points_n=(1, 8, 64, 256),
    points_dims=(2, 4),
    points_steps=1000,
    image_layers=(2, 7),
    image_hidden=128,
    image_batch=128,
    image_steps=1500,
    image_chains=500,
    image_generations=60,
    chaos_steps=400,
    chaos_metrics_every=100,
    chaos_M=200,
    chaos_Nh=100,
    chaos_T=100.0,
    chaos_data="digits8",
    score_n=1000,
    score_times=(10.0, 25.0, 50.0, 100.0, 200.0, 400.0),
    lyap_g=(0.5, 1.0, 1.5, 2.0, 2.5),
    lyap_steps=300,
    lyap_chains=4,
    change_chains=16,
    change_steps=300,
    fashion_steps=200,
    fashion_Nh=100,
)
PAPER = Budget(
    name="paper",
    seeds=5,
    depth_layers=(2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
    depth_steps=2000,
    points_n=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048),
    points_dims=(2, 4),
    points_steps=10_000,
    image_layers=(2, 4, 7, 10),
    image_hidden=256,
    image_batch=256,
    image_steps=3000,
    image_chains=1000,
    image_generations=60,
    chaos_steps=300_000,
    chaos_metrics_every=5000,
    chaos_M=500,
    chaos_Nh=500,
    chaos_T=100.0,
    chaos_data="mnist",
    score_n=10_000,
    score_times=(10.0, 25.0, 50.0, 100.0, 200.0, 400.0),
    lyap_g=(0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0),
    lyap_steps=1000,
    lyap_chains=8,
    change_chains=32,
    change_steps=1000,
    fashion_steps=300_000,
    fashion_Nh=500,
)
BUDGETS: dict[str, Budget] = {b.name: b for b in (QUICK, PAPER, TINY)}
PUBLIC_BUDGETS = ("quick", "paper")  # `tiny` exists for the tests


def get_budget(name: str) -> Budget:
    if name not in BUDGETS:
        raise ConfigError(f"--budget: unknown budget {name!r} (known: {', '.join(PUBLIC_BUDGETS)})")
    return BUDGETS[name]
