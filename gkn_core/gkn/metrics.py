"""End metrics of GKN sweep jobs, measured on the finished run file; one number per run, NaN where it
does not apply (the numbers behind the paper's depth claim, which it shows only in pictures), and
how one GKN sweep job runs.

- burn-in: noise-free iterations x <- f(x) from a set of starts until within `tol` (max norm) of a
  training point (`manifolds.steps_to_reach`). Starts are a grid of [low, high]^D for D <= 4 (201
  points in 1D, 41 x 41 in 2D, 16^3, 9^4; `measure.grid` overrides), else `random_starts` uniform
  draws seeded by the run seed. `burn_in_steps` is the mean over the starts that get there,
  `reach_fraction` the fraction that do within `max_steps`.
- `flat_fraction`: the fraction of those starts where f is flat along some direction: the smallest
  singular value of its Jacobian is below `flat_threshold`, so nearby inputs along that direction
  land on nearly one output (the many-to-one effect). In 1D that is |f'(x)| < 0.1, exactly
  `manifolds.flat_fraction_1d`. `flat_all_fraction` asks for flatness in every direction (the
  largest singular value below the threshold: a whole neighbourhood mapped to nearly one point).
- capture measures (gkn_core.gkn.capture, docs/overgeneralisation-measures.md), on the same starts,
  the sound measures of over-generalisation: `one_step_capture` (f(x) within tol of a training point,
  starts already there left out), `capture` (within max_steps), basin `balance`, `median_steps` and
  `restricted_mean_steps` to capture (the uncaptured censored), `flat_near_data` and
  `flat_some_near_data` (flat where f(x) is near a training point); each also as NAME_untrained,
  the same measure of the untrained network of the run's seed, its baseline. burn_in_steps and
  flat_fraction stay readable for old sweeps but are no measure of the claim: flat_fraction is 1.0 for
  untrained networks, burn_in_steps ignores the starts that never arrive and where they go.
- image sample quality (gkn_core.gkn.sample_quality), from the class score the sampling recorded
  for every generation of the run's newest sampling (sampled by the sweep job): `sample_class_score`
  (the share of confident digits/items at the last generation), `sample_class_entropy` and
  `sample_classes_seen` there (class coverage), `sample_class_score_burned` (mean over the
  generations after burn-in) and `sample_class_score_start` (generation 0: the noise baseline).
  NaN for data without a class score (toy data, image files that are neither MNIST nor Fashion).
- `corner_loss`: max over the 2^D corners c of [low, high]^D of ||c - f(c)||^2 / D (the reference
  code's loss-vs-number-of-points experiment), for D <= 16.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from gkn_core.gkn.capture import MEASURES
from gkn_core.job import SweepTask

# The sound over-generalisation measures, each beside the untrained network's (same seed, same starts).
CAPTURE = (
    "one_step_capture",
    "capture",
    "balance",
    "median_steps",
    "restricted_mean_steps",
    "flat_near_data",
    "flat_some_near_data",
)
CAPTURE_METRICS = {
    **{name: MEASURES[name] for name in CAPTURE},
    **{f"{name}_untrained": f"{MEASURES[name]}, of the untrained network (same seed)" for name in CAPTURE},
}

GKN_METRICS = {
    "final_loss": "batch loss MSE(f(x), x) at the last training step",
    "best_loss": "lowest batch loss of the run (the kept weights' loss with keep_best)",
    "burn_in_steps": "mean iterations of x <- f(x) until a start is within tol of a training point",
    "reach_fraction": "fraction of the starts that reach a training point within max_steps",
    "flat_fraction": "fraction of the starts where f is flat along some direction (singular value < 0.1); "
    "unsound for the depth claim: 1.0 for untrained networks",
    "flat_all_fraction": "fraction of the starts where f is flat in every direction (all singular values)",
    **CAPTURE_METRICS,
    "corner_loss": "max over the corners c of [low, high]^D of ||c - f(c)||^2 / D",
    "sample_distance": "mean RMS distance of kaleidoscopic samples (after burn-in) to the nearest data row",
    **{
        "sample_class_score": "class score (share of confident digits/items) of the last generation",
        "sample_class_entropy": "entropy of the confident classes at the last generation (ln 10 = 2.30: all)",
        "sample_classes_seen": "classes with a confident sample at the last generation (of 10)",
        "sample_class_score_burned": "mean class score over the generations after burn-in",
        "sample_class_score_start": "class score of the chains' starts (generation 0): the noise baseline",
    },
}
SAMPLING_METRICS = {name for name in GKN_METRICS if name.startswith("sample_")}
GRID_PER_AXIS = {1: 201, 2: 41, 3: 16, 4: 9}
MAX_CORNER_DIM = 16
JACOBIAN_CHUNK = 256


def measurement_starts(
    dim: int, low: float, high: float, grid: int | None, random_starts: int, seed: int
) -> torch.Tensor:
    """The starts burn-in and flatness are measured from: a grid for D <= 4, else uniform draws."""
    if dim in GRID_PER_AXIS:
        axis = torch.linspace(low, high, grid or GRID_PER_AXIS[dim])
        if dim == 1:
            return axis[:, None]
        return torch.cartesian_prod(*([axis] * dim))
    generator = torch.Generator().manual_seed(seed)
    return low + (high - low) * torch.rand(random_starts, dim, generator=generator)


def flat_fractions(model: torch.nn.Module, points: torch.Tensor, threshold: float) -> tuple[float, float]:
    """Fractions of the points where f is flat along some direction and in every direction: the
    smallest and the largest singular value of the Jacobian of f below `threshold`."""
    from torch.func import jacrev, vmap

    def f(x: torch.Tensor) -> torch.Tensor:
        return model(x[None])[0]

    singular = []
    for chunk in points.split(JACOBIAN_CHUNK):
        singular.append(torch.linalg.svdvals(vmap(jacrev(f))(chunk)))  # (chunk, D), descending
    values = torch.cat(singular)
    some = float((values[:, -1] < threshold).float().mean())
    every = float((values[:, 0] < threshold).float().mean())
    return some, every


@torch.no_grad()
def corner_loss(model: torch.nn.Module, dim: int, low: float, high: float) -> float:
    if dim > MAX_CORNER_DIM:
        return math.nan
    ends = torch.tensor([low, high])
    corners = torch.cartesian_prod(*([ends] * dim)).reshape(-1, dim)
    device = next(model.parameters()).device
    corners = corners.to(device)
    loss = ((corners - model(corners)) ** 2).mean(dim=1)
    return float(loss.max())


def gkn_metrics(run: Any, names: tuple[str, ...], measure: dict[str, Any], device: torch.device) -> dict:
    """The gkn end metrics `names` of an open, finished run."""
    from gkn_core.gkn.data import load_dataset
    from gkn_core.gkn.manifolds import steps_to_reach

    out: dict[str, float] = {}
    series = run.train_metrics()
    if "final_loss" in names:
        out["final_loss"] = float(series["loss"][-1]) if len(series.get("loss", [])) else math.nan
    if "best_loss" in names:
        out["best_loss"] = float(series["best_loss"][-1]) if len(series.get("best_loss", [])) else math.nan
    if "sample_distance" in names:
        out["sample_distance"] = math.nan
        if run.sampling_names():
            record = run.sampling(read_chains=False)  # its metric rows only
            after = record.metrics.get("data_distance", np.empty(0))[record.settings.burn_in :]
            out["sample_distance"] = float(after.mean()) if len(after) else math.nan
    if set(names) & SAMPLING_METRICS - {"sample_distance"}:
        out.update({k: v for k, v in sample_quality_metrics(run).items() if k in names})
    geometric = {"burn_in_steps", "reach_fraction", "flat_fraction", "flat_all_fraction", "corner_loss"}
    geometric |= set(CAPTURE_METRICS)
    geometric &= set(names)
    if not geometric:
        return out
    model = run.load_model(device=device)
    low, high = run.data_range
    dim = run.dim
    if "corner_loss" in names:
        out["corner_loss"] = corner_loss(model, dim, low, high)
    starts = measurement_starts(
        dim, low, high, measure.get("grid"), measure["random_starts"], run.config.seed
    ).to(device)
    if {"burn_in_steps", "reach_fraction"} & set(names):
        data = run.training_data()
        if data is None:  # large image sets are not copied into the run file
            data = load_dataset(run.config.data, run.config.seed).x
        targets = torch.from_numpy(np.asarray(data, dtype=np.float32)).to(device)
        steps = steps_to_reach(model, starts, targets, measure["tol"], measure["max_steps"])
        reached = steps <= measure["max_steps"]
        if "burn_in_steps" in names:
            out["burn_in_steps"] = float(steps[reached].float().mean()) if bool(reached.any()) else math.nan
        if "reach_fraction" in names:
            out["reach_fraction"] = float(reached.float().mean())
    if {"flat_fraction", "flat_all_fraction"} & set(names):
        some, every = flat_fractions(model, starts, measure["flat_threshold"])
        out["flat_fraction"], out["flat_all_fraction"] = some, every
    if set(CAPTURE_METRICS) & set(names):
        out.update(capture_metrics(run, model, starts, measure))
    return out


def sample_quality_metrics(run: Any) -> dict[str, float]:
    """The sample_class_* metrics of the newest sampling's recorded class-score curve (NaN if none)."""
    nan = math.nan
    keys = ("sample_class_score", "sample_class_entropy", "sample_classes_seen")
    out = {name: nan for name in (*keys, "sample_class_score_burned", "sample_class_score_start")}
    if not run.sampling_names():
        return out
    record = run.sampling(read_chains=False)
    if not record.has_quality:
        return out
    q = record.quality
    for key, series in zip(keys, ("class_score", "class_entropy", "classes_seen"), strict=True):
        out[key] = float(q[series][-1])
    after = q["class_score"][record.settings.burn_in + 1 :]
    out["sample_class_score_burned"] = float(after.mean()) if len(after) else nan
    out["sample_class_score_start"] = float(q["class_score"][0])
    return out


def capture_metrics(run: Any, model: torch.nn.Module, starts: torch.Tensor, measure: dict[str, Any]) -> dict:
    """Every capture measure of the run's network and of its untrained self, on the same starts."""
    from gkn_core.gkn.capture import capture_with_baseline
    from gkn_core.gkn.data import load_dataset

    data = run.training_data()
    if data is None:
        data = load_dataset(run.config.data, run.config.seed).x
    low, high = run.data_range
    both = capture_with_baseline(
        run.config,
        model,
        np.asarray(data, dtype=np.float32),
        run.config.seed,
        low,
        high,
        starts=starts.cpu(),
        tol=measure["tol"],
        n_steps=measure["max_steps"],
        flat_threshold=measure["flat_threshold"],
    )
    out = {name: float(getattr(both.trained, name)) for name in CAPTURE}
    out.update({f"{name}_untrained": float(getattr(both.untrained, name)) for name in CAPTURE})
    return out


def run_sweep_job(task: SweepTask) -> tuple[dict, str]:
    """One GKN sweep job (gkn_core.families): train (and sample, for the sample_* metrics) unless the run
    file is complete already, then measure its end metrics."""
    from gkn_core.device import resolve_device
    from gkn_core.gkn.sessions import sampling_session, training_session
    from gkn_core.runs.reader import open_run

    if task.train:
        task.drive(*training_session(task.config, task.run_path, overwrite=True))
        if SAMPLING_METRICS & set(task.metrics):
            task.drive(*sampling_session(task.run_path))
    device = resolve_device(task.config.device)
    with open_run(task.run_path) as run:
        return gkn_metrics(run, task.metrics, task.measure, device), str(run.info.get("device", ""))
