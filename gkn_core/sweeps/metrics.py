"""End metrics of sweep jobs, measured on the finished run file (or, for untrained networks, on the
network itself). Every metric is one number per run; NaN where it does not apply.

GKN runs (the numbers behind the paper's depth claim, which it shows only in pictures):
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
- `corner_loss`: max over the 2^D corners c of [low, high]^D of ||c - f(c)||^2 / D (the reference
  code's loss-vs-number-of-points experiment), for D <= 16.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from gkn_core.chaos.scores import DIGIT_SCORE_NAMES, SCORE_NAMES

GKN_METRICS = {
    "final_loss": "batch loss MSE(f(x), x) at the last training step",
    "best_loss": "lowest batch loss of the run (the kept weights' loss with keep_best)",
    "burn_in_steps": "mean iterations of x <- f(x) until a start is within tol of a training point",
    "reach_fraction": "fraction of the starts that reach a training point within max_steps",
    "flat_fraction": "fraction of the starts where f is flat along some direction (singular value < 0.1)",
    "flat_all_fraction": "fraction of the starts where f is flat in every direction (all singular values)",
    "corner_loss": "max over the corners c of [low, high]^D of ||c - f(c)||^2 / D",
    "sample_distance": "mean RMS distance of kaleidoscopic samples (after burn-in) to the nearest data row",
}
CHAOS_METRICS = {
    "E2": "covariance score E^(2) at the last step (0 is ideal)",
    "Es": "spectrum score E^(s) at the last step (0 is ideal)",
    "ER": "entropy score E^(R) at the last step (0 is ideal)",
    "AAI": "adversarial accuracy indicator at the last step (0.5 is ideal)",
    "AAI_data": "AAI of the data rows at the last step",
    "AAI_gen": "AAI of the samples at the last step",
    "digit": "digit score: fraction of samples read as a digit with confidence > 0.9",
    "digit_entropy": "entropy of the digit classes of those samples (ln 10 = 2.30 is perfect)",
    "lyapunov_before": "largest Lyapunov exponent per tau of the untrained network",
    "lyapunov_after": "largest Lyapunov exponent per tau of the trained network",
}
LYAPUNOV_METRICS = {
    "largest": "largest Lyapunov exponent per tau",
    "participation_ratio": "participation ratio of the positive exponents measured",
    "kaplan_yorke_dim": "Kaplan-Yorke dimension of the exponents measured",
}
METRICS: dict[str, dict[str, str]] = {
    "gkn": GKN_METRICS,
    "chaos": CHAOS_METRICS,
    "lyapunov": LYAPUNOV_METRICS,
}
DEFAULT_METRICS = {
    "gkn": ("final_loss", "best_loss", "burn_in_steps", "reach_fraction", "flat_fraction"),
    "chaos": ("E2", "Es", "ER", "AAI", "digit", "digit_entropy", "lyapunov_before", "lyapunov_after"),
    "lyapunov": ("largest",),
}
GRID_PER_AXIS = {1: 201, 2: 41, 3: 16, 4: 9}
MAX_CORNER_DIM = 16
JACOBIAN_CHUNK = 256


# -- GKN -------------------------------------------------------------------------------------------
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
            record = run.sampling()
            after = record.metrics.get("data_distance", np.empty(0))[record.settings.burn_in :]
            out["sample_distance"] = float(after.mean()) if len(after) else math.nan
    geometric = {"burn_in_steps", "reach_fraction", "flat_fraction", "flat_all_fraction", "corner_loss"}
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
    return out


# -- chaos -----------------------------------------------------------------------------------------
def chaos_metrics(run: Any, names: tuple[str, ...], device: torch.device) -> dict:
    """The chaos end metrics `names` of an open, finished chaos run."""
    from gkn_core.chaos.models import build_chaos_model, largest_exponent_per_tau
    from gkn_core.chaos.runfile import chaos_series, load_chaos_model

    out: dict[str, float] = {}
    scores = chaos_series(run, "train/scores")
    has_scores = bool(scores) and len(scores.get("step", [])) > 0
    for name in (*SCORE_NAMES, *DIGIT_SCORE_NAMES):
        if name in names:
            # The job scores its samples at the last step, so the last row is the end value.
            out[name] = float(scores[name][-1]) if has_scores and name in scores else math.nan
    config = run.config
    train = config.train

    def largest(model: Any) -> float:
        # The settings and seed the training job measures with, so `after` equals its last row.
        value = largest_exponent_per_tau(
            model, train.lyapunov_chains, train.lyapunov_steps, model.settings.n_steps, seed=config.seed + 4
        )
        return float(value[0])

    if "lyapunov_before" in names:
        out["lyapunov_before"] = largest(build_chaos_model(config.model, run.dim, device, seed=config.seed))
    if "lyapunov_after" in names:
        model, _ = load_chaos_model(run, device=device)
        out["lyapunov_after"] = largest(model)
    return out


# -- untrained networks ----------------------------------------------------------------------------
def untrained_spectrum(config: Any, device: torch.device) -> torch.Tensor:
    """The k largest exponents per tau of an untrained network (a LyapunovJobConfig), averaged over
    chains: the same seeds and steps as `gkn lyapunov --untrained`, so the numbers agree."""
    from gkn_core.chaos.models import build_chaos_model
    from gkn_core.lyapunov import lyapunov_spectrum

    settings = config.lyapunov
    model = build_chaos_model(config.model, config.nv, device, config.seed)
    per_tau = model.settings.tau / model.settings.dt
    generator = torch.Generator(device=model.device).manual_seed(config.seed + 7)
    x0 = torch.cat(model.random_state(settings.chains, generator), dim=1)
    transient = settings.transient if settings.transient is not None else model.settings.n_steps
    spectrum = lyapunov_spectrum(
        model.flat_step, x0, settings.exponents, settings.steps, transient, settings.renorm_every
    )
    return (spectrum * per_tau).mean(0)


def lyapunov_metrics(config: Any, names: tuple[str, ...], device: torch.device) -> dict:
    from gkn_core.lyapunov import kaplan_yorke_dimension, participation_ratio

    mean = untrained_spectrum(config, device)
    out = {"largest": float(mean[0])}
    if "participation_ratio" in names:
        out["participation_ratio"] = float(participation_ratio(mean))
    if "kaplan_yorke_dim" in names:
        out["kaplan_yorke_dim"] = float(kaplan_yorke_dimension(mean))
    return {k: v for k, v in out.items() if k in names}
