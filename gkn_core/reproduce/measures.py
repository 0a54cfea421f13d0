"""One adapter per claim whose sound measure another branch is writing (the lead switches them when
those land; everything else in gkn_core.reproduce stays as it is). Each takes run files and returns
plain numbers per run, the trained network's beside the untrained network's of the same seed.

- overgeneralisation (claim a): INTERIM measure = reach fraction: the share of a grid of starts in
  [low, high]^D whose noise-free chain x <- f(x) comes within tol (max norm) of a training point
  within max_steps (gkn_core.manifolds.steps_to_reach), untrained baseline beside it. It is 0 for an
  untrained network unless its constant output happens to sit on a training point. (Not the old
  flat_fraction, which scores untrained networks 1.0.)
- image_quality (claim c): digit score (confident digits, class entropy) of the final generation of
  kaleidoscopic chains from uniform noise, with noise sigma each step, untrained baseline beside it.
- item_score (claim h): the Fashion-MNIST item score; not measurable on this branch (no shipped
  Fashion data and no item classifier yet): returns available=False with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch


def _untrained(run: Any) -> torch.nn.Module:
    from gkn_core.jobs.gkn_train import seeded_model

    return seeded_model(run.config, run.dim, torch.device("cpu")).eval()


def _training_points(run: Any) -> torch.Tensor:
    from gkn_core.data.from_config import load_dataset

    data = run.training_data()
    if data is None:
        data = load_dataset(run.config.data, run.config.seed).x
    return torch.from_numpy(np.asarray(data, dtype=np.float32))


# switch to gkn_core.gkn.capture when it lands (capture fractions, basin balance, censored steps)
def overgeneralisation(
    run_paths: Sequence[str | Path], tol: float = 0.01, max_steps: int = 100
) -> dict[str, Any]:
    """Per run: the reach fraction of the trained network and of the untrained one (same seed)."""
    from gkn_core.manifolds import steps_to_reach
    from gkn_core.runs.reader import open_run
    from gkn_core.sweeps.metrics import measurement_starts

    trained, untrained = [], []
    for path in run_paths:
        with open_run(path) as run:
            model = run.load_model()
            low, high = run.data_range
            starts = measurement_starts(run.dim, low, high, None, 1024, run.config.seed)
            targets = _training_points(run)
            for net, out in ((model, trained), (_untrained(run), untrained)):
                steps = steps_to_reach(net, starts, targets, tol, max_steps)
                out.append(float((steps <= max_steps).float().mean()))
    return {
        "measure": "reach_fraction",
        "description": f"share of grid starts whose chain x <- f(x) comes within {tol} of a training "
        f"point within {max_steps} steps (interim adapter)",
        "trained": trained,
        "untrained": untrained,
    }


# switch to gkn_core.gkn.sample_quality when it lands (class score at every generation)
@torch.no_grad()
def image_quality(
    run_paths: Sequence[str | Path], chains: int = 500, generations: int = 60, noise: float = 0.01
) -> dict[str, Any]:
    """Per run: the digit score of the final generation, trained and untrained (same seed, same starts)."""
    from gkn_core.config import SampleConfig
    from gkn_core.digit_score import digit_score
    from gkn_core.jobs.gkn_sample import KaleidoscopeSamplingJob
    from gkn_core.runs.reader import open_run

    out: dict[str, list[float]] = {
        k: [] for k in ("trained", "trained_entropy", "untrained", "untrained_entropy")
    }
    for path in run_paths:
        with open_run(path) as run:
            model = run.load_model()
            low, high = run.data_range
            shape = run.image_shape
            value_range = run.config.data.value_range
            seed = run.config.seed + 2000
            nets = ((model, "trained"), (_untrained(run), "untrained"))
        settings = SampleConfig(chains=chains, steps=generations, noise=noise, start="uniform", burn_in=0)
        for net, key in nets:
            job = KaleidoscopeSamplingJob(net, settings, low, high, seed)
            for _ in job:
                pass
            final = job.chains[:, -1]
            score = digit_score(final, shape, value_range) if shape is not None else None
            out[key].append(score.fraction if score else math.nan)
            out[f"{key}_entropy"].append(score.entropy if score else math.nan)
    return {
        "measure": "digit_score",
        "description": f"fraction of {chains} chains whose generation {generations} is a confident digit "
        f"(digit classifier with a not-a-digit class, p > 0.9), noise sigma {noise} (interim adapter)",
        **out,
    }


# switch to gkn_core.class_score (the item score of the Fashion classifier) when `fashion` lands
def item_score(run_paths: Sequence[str | Path]) -> dict[str, Any]:
    """The item score of chaos runs trained on Fashion-MNIST; unavailable until that branch lands."""
    return {
        "measure": "item_score",
        "available": False,
        "reason": "no Fashion-MNIST data source and no item classifier on this branch yet "
        "(issue #14.4, helper `fashion`)",
        "trained": [math.nan for _ in run_paths],
        "untrained": [math.nan for _ in run_paths],
    }


def fashion_available() -> bool:
    """True once a `fashion` chaos data source exists (then claim h trains and scores)."""
    from typing import get_args

    from gkn_core.chaos.config import ChaosDataSource

    return "fashion" in get_args(ChaosDataSource)
