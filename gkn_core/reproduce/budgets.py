"""How big each claim's runs are at each budget: `quick` (at most 15 minutes on 2 CPU cores), `paper`
(the papers' sizes, for a GPU) and `tiny` (the smallest settings, for tests only: numbers too noisy
to mean anything).

The sizes are data, like the presets: gkn_core/presets/budgets.toml."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from gkn_core.errors import ConfigError
from gkn_core.settings import preset_table


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


def _budget(name: str, sizes: dict[str, Any]) -> Budget:
    # TOML has lists; the budget keeps tuples, so that it stays hashable and immutable.
    return Budget(name=name, **{k: tuple(v) if isinstance(v, list) else v for k, v in sizes.items()})


BUDGETS: dict[str, Budget] = {
    name: _budget(name, sizes) for name, sizes in preset_table("budgets.toml").items()
}
PUBLIC_BUDGETS = ("quick", "paper")  # `tiny` exists for the tests


def get_budget(name: str) -> Budget:
    if name not in BUDGETS:
        raise ConfigError(f"--budget: unknown budget {name!r} (known: {', '.join(PUBLIC_BUDGETS)})")
    return BUDGETS[name]
