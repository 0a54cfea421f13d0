"""The measure behind each GKN claim and the Fashion claim, per run: the trained network's number beside
the untrained network's of the same seed (the baseline of SPEC-NOTES section 5).

- overgeneralisation (claim a): the capture measures of gkn_core.gkn.capture on a grid of unseen
  starts: one-step capture (f(x) within tol of a training point), flatness near the data (f(x) near
  a training point and f flat there), basin balance and the censored median steps to capture. Each
  is 0 for an untrained network (its nearly constant output is no training point), so it can fail.
- image_quality (claim c): the class score (gkn_core.class_score, chosen by the data set) of every
  generation of kaleidoscopic chains from uniform noise (gkn_core.gkn.sample_quality); the claim
  reads the last generation.
- item_score (claim h): the item score (Fashion-MNIST classifier with a not-an-item class) of the
  free-phase samples of chaos runs trained on Fashion-MNIST, trained beside untrained.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch


def _untrained(run: Any) -> torch.nn.Module:
    from gkn_core.gkn.train import seeded_model

    return seeded_model(run.config, run.dim, torch.device("cpu")).eval()


def _training_points(run: Any) -> torch.Tensor:
    from gkn_core.gkn.data import load_dataset

    data = run.training_data()
    if data is None:
        data = load_dataset(run.config.data, run.config.seed).x
    return torch.from_numpy(np.asarray(data, dtype=np.float32))


OVERGEN_MEASURES = (
    "one_step_capture",
    "flat_some_near_data",
    "flat_near_data",
    "balance",
    "median_steps",
)


def overgeneralisation(
    run_paths: Sequence[str | Path], tol: float = 0.05, max_steps: int = 100
) -> dict[str, Any]:
    """Per run and measure: the capture measures of the trained network and of the untrained one."""
    from gkn_core.gkn.capture import MEASURES, capture_with_baseline
    from gkn_core.runs.reader import open_run

    values = {name: {"trained": [], "untrained": []} for name in OVERGEN_MEASURES}
    for path in run_paths:
        with open_run(path) as run:
            model = run.load_model()
            low, high = run.data_range
            points = _training_points(run).numpy()
            config = run.config
        both = capture_with_baseline(
            config, model, points, config.seed, low, high, tol=tol, n_steps=max_steps
        )
        for name in OVERGEN_MEASURES:
            values[name]["trained"].append(float(getattr(both.trained, name)))
            values[name]["untrained"].append(float(getattr(both.untrained, name)))
    return {
        "measures": values,
        "descriptions": {name: MEASURES[name] for name in OVERGEN_MEASURES},
        "description": f"capture measures on a grid of unseen starts, tol {tol} (max norm), N = {max_steps} "
        "noise-free steps (gkn_core.gkn.capture)",
    }


@torch.no_grad()
def image_quality(
    run_paths: Sequence[str | Path], chains: int = 500, generations: int = 60, noise: float = 0.01
) -> dict[str, Any]:
    """Per run: the class score of the last generation, trained and untrained (same seed, same starts)."""
    from gkn_core.class_score import class_score
    from gkn_core.gkn.config import SampleConfig
    from gkn_core.gkn.sample import KaleidoscopeSamplingJob
    from gkn_core.runs.reader import open_run

    out: dict[str, list[float]] = {
        k: [] for k in ("trained", "trained_entropy", "untrained", "untrained_entropy")
    }
    name = "class score"
    for path in run_paths:
        with open_run(path) as run:
            model = run.load_model()
            low, high = run.data_range
            source = run.config.data.source
            value_range = run.config.data.value_range
            seed = run.config.seed + 2000
            nets = ((model, "trained"), (_untrained(run), "untrained"))
        settings = SampleConfig(chains=chains, steps=generations, noise=noise, start="uniform", burn_in=0)
        for net, key in nets:
            job = KaleidoscopeSamplingJob(net, settings, low, high, seed)
            for _ in job:
                pass
            score = class_score(job.last_states, source, value_range)  # the last generation
            name = score.name
            out[key].append(score.fraction)
            out[f"{key}_entropy"].append(score.entropy)
    return {
        "measure": name,
        "description": f"fraction of {chains} chains whose generation {generations} is a confident "
        f"{name.split()[0]} (classifier with a reject class, p > 0.9; gkn_core.class_score), noise "
        f"sigma {noise} per step",
        **out,
    }


def item_score(run_paths: Sequence[str | Path]) -> dict[str, Any]:
    """Per chaos run: the class score of fresh free-phase samples, trained beside untrained."""
    from gkn_core.chaos.runfile import load_chaos_model
    from gkn_core.chaos.train import trained_and_untrained_scores
    from gkn_core.runs.reader import open_run

    trained, untrained = [], []
    for path in run_paths:
        with open_run(path) as run:
            model, _ = load_chaos_model(run)
            config = run.config
        after, before = trained_and_untrained_scores(model, config)
        trained.append(after.fraction)
        untrained.append(before.fraction)
    return {"measure": "item score", "trained": trained, "untrained": untrained}
