"""How big each claim's runs are at each budget: `quick` (at most 15 minutes on 2 CPU cores), `paper`
(the papers' sizes, for a GPU) and `tiny` (the smallest settings, for tests only: numbers too noisy
to mean anything).

The sizes stand in one table, a column per budget, so that the budgets read side by side."""

from __future__ import annotations

from dataclasses import asdict, dataclass
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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


COLUMNS = ("tiny", "quick", "paper")
_SCORE_TIMES = (10.0, 25.0, 50.0, 100.0, 200.0, 400.0)
# setting: (tiny, quick, paper)
_SIZES: dict[str, tuple[Any, Any, Any]] = {
    "seeds": (2, 3, 5),
    "depth_layers": ((2, 4), (2, 4, 7, 10), (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)),
    "depth_steps": (60, 1000, 2000),
    "points_n": ((1, 16), (1, 8, 64, 256), (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)),
    "points_dims": ((2, 4), (2, 4), (2, 4)),
    "points_steps": (60, 1000, 10_000),
    "image_layers": ((2, 4), (2, 7), (2, 4, 7, 10)),
    "image_hidden": (16, 128, 256),
    "image_batch": (64, 128, 256),
    "image_steps": (20, 1500, 3000),
    "image_chains": (32, 500, 1000),
    "image_generations": (5, 60, 60),
    "chaos_steps": (6, 400, 300_000),
    "chaos_metrics_every": (3, 100, 5000),
    "chaos_M": (16, 200, 500),
    "chaos_Nh": (12, 100, 500),
    "chaos_T": (10.0, 100.0, 100.0),
    "chaos_data": ("digits8", "digits8", "mnist"),
    "score_n": (64, 1000, 10_000),
    "score_times": ((5.0, 10.0, 20.0), _SCORE_TIMES, _SCORE_TIMES),
    "lyap_g": ((0.5, 2.0), (0.5, 1.0, 1.5, 2.0, 2.5), (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0)),
    "lyap_steps": (20, 300, 1000),
    "lyap_chains": (2, 4, 8),
    "change_chains": (3, 16, 32),
    "change_steps": (20, 300, 1000),
    "fashion_steps": (2, 200, 300_000),
    "fashion_Nh": (8, 100, 500),
}
BUDGETS: dict[str, Budget] = {
    name: Budget(name=name, **{setting: sizes[column] for setting, sizes in _SIZES.items()})
    for column, name in enumerate(COLUMNS)
}
PUBLIC_BUDGETS = ("quick", "paper")  # `tiny` exists for the tests


def get_budget(name: str) -> Budget:
    if name not in BUDGETS:
        raise ConfigError(f"--budget: unknown budget {name!r} (known: {', '.join(PUBLIC_BUDGETS)})")
    return BUDGETS[name]
