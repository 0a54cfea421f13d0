"""The fall of the largest Lyapunov exponent over training, with its standard error (issue #14.5).

For each trained chaos run (one per seed) the largest exponent per tau is measured on `chains`
trajectories of the free dynamics of the untrained network of the same seed ("before") and of the
newest checkpoint ("after"), with gkn_core.chaos.analysis.network_spectrum (same initial states for
both, from the analysis seed). Per seed: the mean over chains before and after, and the paired
difference after - before.

Standard errors:
- chains: within each network, the spread of the exponents over chains, sqrt(var_b / n + var_a / n)
  per seed, combined over the S seeds as sqrt(sum of squares) / S; it shrinks as 1/sqrt(chains).
- seeds (S >= 2): the standard deviation over seeds of the per-seed differences / sqrt(S), which
  also holds the variation between random networks.
The reported standard error is the larger of the two (the chain one alone with one seed). The fall
(before - after) is "beyond its noise" when it exceeds 2 standard errors, else "within its noise".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gkn_core.errors import ConfigError

NOISE_FACTOR = 2.0


@dataclass(frozen=True)
class LyapunovChange:
    seeds: tuple[int, ...]
    before: np.ndarray  # (S, chains) largest exponent per tau of the untrained networks
    after: np.ndarray  # (S, chains) of the trained networks
    chains: int
    steps: int
    transient: int

    @property
    def before_mean(self) -> float:
        return float(self.before.mean())

    @property
    def after_mean(self) -> float:
        return float(self.after.mean())

    @property
    def difference(self) -> float:
        """after - before, mean over seeds (negative: training lowered the exponent)."""
        return float((self.after.mean(1) - self.before.mean(1)).mean())

    @property
    def se_chains(self) -> float:
        s, n = self.before.shape
        if n < 2:
            return math.nan
        per_seed = self.before.var(1, ddof=1) / n + self.after.var(1, ddof=1) / n
        return float(math.sqrt(per_seed.sum()) / s)

    @property
    def se_seeds(self) -> float:
        s = self.before.shape[0]
        if s < 2:
            return math.nan
        diffs = self.after.mean(1) - self.before.mean(1)
        return float(diffs.std(ddof=1) / math.sqrt(s))

    @property
    def standard_error(self) -> float:
        values = [v for v in (self.se_chains, self.se_seeds) if math.isfinite(v)]
        return max(values) if values else math.nan

    @property
    def beyond_noise(self) -> bool:
        se = self.standard_error
        return math.isfinite(se) and -self.difference > NOISE_FACTOR * se

    def statement(self) -> str:
        se = self.standard_error
        where = "beyond its noise" if self.beyond_noise else "within its noise"
        return (
            f"largest exponent per tau {self.before_mean:+.4f} before, {self.after_mean:+.4f} after "
            f"training: change {self.difference:+.4f} +- {se:.4f} (1 s.e., {len(self.seeds)} seeds x "
            f"{self.chains} chains); the fall is {where} (2 s.e.)"
        )

    def as_dict(self) -> dict:
        return {
            "seeds": list(self.seeds),
            "chains": self.chains,
            "steps": self.steps,
            "transient": self.transient,
            "before_mean": self.before_mean,
            "after_mean": self.after_mean,
            "before_per_seed": self.before.mean(1).tolist(),
            "after_per_seed": self.after.mean(1).tolist(),
            "difference": self.difference,
            "se_chains": self.se_chains,
            "se_seeds": self.se_seeds,
            "standard_error": self.standard_error,
            "beyond_noise": self.beyond_noise,
            "statement": self.statement(),
        }


def lyapunov_change(
    run_paths: Sequence[str | Path],
    chains: int = 16,
    steps: int = 300,
    transient: int | None = None,
    seed: int = 0,
) -> LyapunovChange:
    """Largest exponent before and after training for each run (one per seed), see the module doc.

    transient: steps before averaging (None: one phase T/dt of the model).
    """
    from gkn_core.chaos.analysis import network_spectrum
    from gkn_core.chaos.models import build_chaos_model
    from gkn_core.chaos.runfile import load_chaos_model
    from gkn_core.device import resolve_device
    from gkn_core.runs.reader import open_run

    if not run_paths:
        raise ConfigError("lyapunov change: give at least one trained chaos run")
    if chains < 1 or steps < 1:
        raise ConfigError("lyapunov change: chains and steps must be >= 1")
    seeds, before, after = [], [], []
    used_transient = 0
    for path in run_paths:
        with open_run(path) as run:
            if run.kind != "chaos":
                raise ConfigError(f"{path} is a {run.kind} run; the Lyapunov change needs chaos runs")
            trained, _ = load_chaos_model(run, device=resolve_device(run.config.device))
            config = run.config
        untrained = build_chaos_model(config.model, trained.n_visible, trained.device, seed=config.seed)
        used_transient = transient if transient is not None else trained.settings.n_steps
        for model, out in ((untrained, before), (trained, after)):
            values = network_spectrum(model, 1, steps, used_transient, chains, seed=seed)[:, 0]
            out.append(values.double().cpu().numpy())
        seeds.append(int(config.seed))
    return LyapunovChange(tuple(seeds), np.stack(before), np.stack(after), chains, steps, used_transient)
