"""Sound over-generalization measures of a GKN map f: where do unseen inputs go?

The paper's claim (arXiv 2402.11793) is that a trained deep ReLU network maps inputs it never saw onto
the training points (many-to-one), more so with depth. A flatness measure alone cannot show that: an
untrained deep ReLU net is nearly constant, so it is "flat" everywhere. Every measure here counts an
input only when f sends it (in one step, or along its noise-free chain x <- f(x)) to within `tol`
(max norm) of a training point, so a constant map whose output is not a training point, and the
identity map, score 0.

Starts: a grid of [low, high]^D for D <= 4, uniform draws above. Starts already within `tol` of a
training point are not *eligible*: every fraction below is over the eligible starts only, so a map
cannot score by leaving the data where it is.

- one_step_capture: share of eligible starts with min_j ||f(x) - x_j||_inf <= tol.
- capture: share whose chain is within tol of a training point at some step 1..n_steps
  (first arrival; `stay_fraction` says how many of those are still near the same point at n_steps).
- basin: per start, the training point its chain first reaches (-1: none within n_steps).
- basin_shares, balance: shares of the captured starts per training point and their entropy
  H / ln(m) (1: balanced, 0: all in one basin; 0 by convention when nothing is captured). balance is
  conditional on capture; `balanced_capture` = capture x balance is 0 unless both are high.
- steps: per start, the first step at which it is captured; censored (inf) if not by n_steps. All
  starts share one censoring time, so the Kaplan-Meier curve is the plain empirical one: median and
  quartiles are inf when fewer than that share are captured; `restricted_mean_steps` = E[min(T, N)]
  counts the uncaptured as N (= N for a map that captures nothing).
- flat_near_data: share of eligible starts whose f(x) is within tol of a training point AND where the
  largest singular value of the Jacobian of f is below `flat_threshold`: a whole neighbourhood is
  collapsed onto a training point. `flat_some_near_data` asks only the smallest singular value to be
  below it (collapse along at least one direction, onto the point). `flat_anywhere` (largest
  singular value small, wherever f(x) lies) is kept only to show why flatness alone is unsound: it is
  high for untrained nets.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

Map = Callable[[torch.Tensor], torch.Tensor]
GRID_PER_AXIS = {1: 201, 2: 41, 3: 16, 4: 9}
JACOBIAN_CHUNK = 256
DEFAULT_TOL = 0.01
DEFAULT_STEPS = 100
DEFAULT_FLAT = 0.1
RANDOM_STARTS = 1024
# The scalar measures, in table order, with the one-line meaning a sweep table can show.
MEASURES: dict[str, str] = {
    "one_step_capture": "share of unseen starts x with f(x) within tol of a training point",
    "capture": "share of unseen starts whose chain x <- f(x) reaches a training point within N steps",
    "balance": "entropy of the captured starts' basins / ln(m): 1 balanced, 0 all in one basin",
    "balanced_capture": "capture x balance: high only if most starts are captured, evenly",
    "uncaptured": "share of unseen starts never within tol of a training point in N steps",
    "median_steps": "median steps to capture, uncaptured censored at N (inf if under half captured)",
    "restricted_mean_steps": "mean of min(steps to capture, N): the uncaptured count as N",
    "stay_fraction": "share of the captured still within tol of the same training point at step N",
    "flat_near_data": "share of unseen starts with f(x) near a training point and |J_f(x)|_2 < threshold",
    "flat_some_near_data": "as flat_near_data, but flat along some direction (smallest singular value)",
    "flat_anywhere": "share with |J_f(x)|_2 < threshold wherever f(x) lies (unsound: untrained nets too)",
}


def _readonly(array: np.ndarray) -> np.ndarray:
    out = np.array(array, copy=True)
    out.flags.writeable = False
    return out


@dataclass(frozen=True, eq=False)
class CaptureReport:
    """Over-generalization measures of one map on one set of starts (plain floats and numpy)."""

    n_starts: int
    n_eligible: int  # starts not already within tol of a training point
    n_points: int  # training points m
    tol: float
    n_steps: int  # N, the chain length and censoring time
    flat_threshold: float
    one_step_capture: float
    capture: float
    uncaptured: float
    balance: float
    balanced_capture: float
    median_steps: float
    q25_steps: float
    q75_steps: float
    restricted_mean_steps: float
    mean_steps_captured: float  # conditional on capture; nan if none is captured
    stay_fraction: float  # nan if none is captured
    flat_near_data: float
    flat_some_near_data: float
    flat_anywhere: float
    basin_shares: np.ndarray  # (m,) shares of the captured eligible starts per training point
    capture_curve: np.ndarray  # (N + 1,) share of eligible starts captured by step k (k = 0: 0)
    basin: np.ndarray  # (n_starts,) int; -1: not captured within N steps
    steps: np.ndarray  # (n_starts,) float; 0 for ineligible starts, inf if not captured
    eligible: np.ndarray  # (n_starts,) bool

    def summary(self) -> dict[str, float]:
        """The scalar measures of MEASURES, by name."""
        return {name: float(getattr(self, name)) for name in MEASURES}


def measurement_starts(
    dim: int,
    low: float,
    high: float,
    grid: int | None = None,
    random_starts: int = RANDOM_STARTS,
    seed: int = 0,
) -> torch.Tensor:
    """A grid of [low, high]^D for D <= 4 (201, 41^2, 16^3, 9^4 points), else seeded uniform draws."""
    if dim in GRID_PER_AXIS:
        axis = torch.linspace(low, high, grid or GRID_PER_AXIS[dim])
        return axis[:, None] if dim == 1 else torch.cartesian_prod(*([axis] * dim))
    generator = torch.Generator().manual_seed(seed)
    return low + (high - low) * torch.rand(random_starts, dim, generator=generator)


def _device_of(f: Map) -> torch.device:
    if isinstance(f, nn.Module):
        for p in f.parameters():
            return p.device
    return torch.device("cpu")


def _nearest(x: torch.Tensor, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(distance, index) of the nearest training point in the max norm."""
    return torch.cdist(x, points, p=float("inf")).min(dim=1)


def singular_values(f: Map, x: torch.Tensor, chunk: int = JACOBIAN_CHUNK) -> torch.Tensor:
    """(n, D) singular values (descending) of the Jacobian of f at each row of x (torch.func, chunks)."""
    from torch.func import jacrev, vmap

    def one(row: torch.Tensor) -> torch.Tensor:
        return f(row[None])[0]

    out = [torch.linalg.svdvals(vmap(jacrev(one))(part)) for part in x.split(chunk)]
    return torch.cat(out) if out else torch.empty(0, x.shape[1])


def _entropy_balance(counts: np.ndarray) -> float:
    total = counts.sum()
    if total == 0 or len(counts) < 2:
        return 0.0
    q = counts[counts > 0] / total
    return max(0.0, float(-(q * np.log(q)).sum() / math.log(len(counts))))


def _quantile(steps: np.ndarray, share: float) -> float:
    """Smallest t with at least `share` of the (eligible) starts captured by t; inf if none."""
    if len(steps) == 0:
        return math.nan
    ordered = np.sort(steps)
    k = math.ceil(share * len(ordered)) - 1
    return float(ordered[max(k, 0)])


@torch.no_grad()
def capture_report(
    f: Map,
    points: np.ndarray | torch.Tensor,
    low: float = 0.0,
    high: float = 1.0,
    *,
    starts: np.ndarray | torch.Tensor | None = None,
    tol: float = DEFAULT_TOL,
    n_steps: int = DEFAULT_STEPS,
    flat_threshold: float = DEFAULT_FLAT,
    seed: int = 0,
    grid: int | None = None,
) -> CaptureReport:
    """Every capture measure of the map f (a module or a callable on (n, D) tensors) for the
    training points (m, D): one step, N noise-free steps, basins, censored steps, flatness near data."""
    if tol <= 0 or n_steps < 1 or flat_threshold <= 0:
        raise ValueError("tol and flat_threshold must be > 0 and n_steps >= 1")
    device = _device_of(f)
    targets = torch.as_tensor(np.array(points, dtype=np.float32), device=device)
    if targets.ndim != 2 or targets.shape[0] < 1:
        raise ValueError(f"training points must be a non-empty (m, D) array, not {tuple(targets.shape)}")
    m, dim = targets.shape
    if starts is None:
        x = measurement_starts(dim, low, high, grid, RANDOM_STARTS, seed).to(device)
    else:
        x = torch.as_tensor(np.array(starts, dtype=np.float32), device=device).reshape(-1, dim)
    n = x.shape[0]
    start_distance, start_index = _nearest(x, targets)
    eligible = start_distance > tol

    # noise-free chains: first arrival within tol, and where each chain is at step N
    basin = torch.where(eligible, -1, start_index)
    steps = torch.where(eligible, math.inf, 0.0)
    state = x
    near_one_step = torch.zeros(n, dtype=torch.bool, device=device)
    for t in range(1, n_steps + 1):
        state = f(state)
        distance, index = _nearest(state, targets)
        if t == 1:
            near_one_step = distance <= tol
        arrive = (distance <= tol) & torch.isinf(steps)
        basin = torch.where(arrive, index, basin)
        steps = torch.where(arrive, float(t), steps)
    end_distance = torch.cdist(state, targets, p=float("inf"))  # (n, m)

    e = eligible
    n_e = int(e.sum())
    captured = e & torch.isfinite(steps)
    n_c = int(captured.sum())

    def share(mask: torch.Tensor) -> float:
        return float(mask.sum()) / n_e if n_e else math.nan

    counts = np.bincount(basin[captured].cpu().numpy(), minlength=m).astype(np.float64)
    capture = share(captured)
    balance = _entropy_balance(counts)
    stays = math.nan
    if n_c:
        own = end_distance[captured].gather(1, basin[captured][:, None])[:, 0]
        stays = float((own <= tol).float().mean())

    flatness = {"flat_near_data": math.nan, "flat_some_near_data": math.nan, "flat_anywhere": math.nan}
    if n_e:
        flatness = _flatness(f, x[e], near_one_step[e], flat_threshold)
    eligible_steps = steps[e].cpu().numpy()
    return CaptureReport(
        n_starts=n,
        n_eligible=n_e,
        n_points=m,
        tol=float(tol),
        n_steps=int(n_steps),
        flat_threshold=float(flat_threshold),
        one_step_capture=share(e & near_one_step),
        capture=capture,
        uncaptured=1.0 - capture if n_e else math.nan,
        balance=balance,
        balanced_capture=capture * balance if n_e else math.nan,
        stay_fraction=stays,
        basin_shares=_readonly(counts / n_c if n_c else np.zeros(m)),
        basin=_readonly(basin.cpu().numpy().astype(np.int64)),
        steps=_readonly(steps.cpu().numpy().astype(np.float64)),
        eligible=_readonly(e.cpu().numpy()),
        **_step_statistics(eligible_steps, n_steps),
        **flatness,
    )


def _step_statistics(eligible_steps: np.ndarray, n_steps: int) -> dict[str, Any]:
    """Steps to capture of the eligible starts (inf: not captured within n_steps): quantiles, censored
    and conditional means, and the capture curve."""
    n_e = len(eligible_steps)
    finite = eligible_steps[np.isfinite(eligible_steps)]
    curve = np.zeros(n_steps + 1)
    if n_e:
        counts = np.bincount(finite.astype(np.int64), minlength=n_steps + 1)
        curve[1:] = np.cumsum(counts[1:]) / n_e
    return {
        "median_steps": _quantile(eligible_steps, 0.5),
        "q25_steps": _quantile(eligible_steps, 0.25),
        "q75_steps": _quantile(eligible_steps, 0.75),
        "restricted_mean_steps": float(np.minimum(eligible_steps, n_steps).mean()) if n_e else math.nan,
        "mean_steps_captured": float(finite.mean()) if len(finite) else math.nan,
        "capture_curve": _readonly(curve),
    }


def _flatness(
    f: Map, x: torch.Tensor, near_one_step: torch.Tensor, flat_threshold: float
) -> dict[str, float]:
    """Shares of the (eligible) starts x where f is flat: in its largest singular value (anywhere, and
    near data after one step) or in its smallest (some direction flat, near data)."""
    with torch.enable_grad():
        sigma = singular_values(f, x)
    flat = sigma[:, 0] < flat_threshold
    return {
        "flat_anywhere": float(flat.float().mean()),
        "flat_near_data": float((flat & near_one_step).float().mean()),
        "flat_some_near_data": float(((sigma[:, -1] < flat_threshold) & near_one_step).float().mean()),
    }


# -- trained beside untrained, and over seeds ------------------------------------------------------
@dataclass(frozen=True, eq=False)
class BaselinedCapture:
    """The measures of a trained network beside those of the same network at its initial weights."""

    seed: int
    trained: CaptureReport
    untrained: CaptureReport

    def rows(self) -> dict[str, tuple[float, float]]:
        """measure -> (trained, untrained)."""
        t, u = self.trained.summary(), self.untrained.summary()
        return {name: (t[name], u[name]) for name in MEASURES}


def untrained_network(config_or_model_factory: object, dim: int, seed: int) -> nn.Module:
    """The initial network of a run with this seed: from a GKNConfig (the training job's own seeding,
    `seeded_model`, so these are exactly the weights training started from) or a factory seed -> module."""
    from gkn_core.gkn.config import GKNConfig
    from gkn_core.gkn.train import seeded_model

    if isinstance(config_or_model_factory, GKNConfig):
        config = config_or_model_factory.model_copy(update={"seed": int(seed)})
        return seeded_model(config, dim, torch.device("cpu")).eval()
    if callable(config_or_model_factory):
        return config_or_model_factory(int(seed)).eval()
    raise TypeError("expected a GKNConfig or a callable seed -> nn.Module")


def capture_with_baseline(
    config_or_model_factory: object,
    trained_model: nn.Module,
    points: np.ndarray,
    seed: int,
    low: float = 0.0,
    high: float = 1.0,
    **measure: object,
) -> BaselinedCapture:
    """capture_report of the trained network and of the untrained one of the same seed, on the
    same starts (`measure`: tol, n_steps, flat_threshold, grid, starts)."""
    points = np.asarray(points, dtype=np.float32)
    untrained = untrained_network(config_or_model_factory, points.shape[1], seed)
    device = _device_of(trained_model)
    untrained = untrained.to(device)
    kwargs = {"seed": seed, **measure}
    return BaselinedCapture(
        seed=int(seed),
        trained=capture_report(trained_model.eval(), points, low, high, **kwargs),  # type: ignore[arg-type]
        untrained=capture_report(untrained, points, low, high, **kwargs),  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class Spread:
    mean: float
    std: float  # sample standard deviation (ddof=1); nan for n < 2
    n: int

    def __str__(self) -> str:
        if self.n == 0:
            return "n/a"
        if math.isinf(self.mean):
            return "inf"
        return f"{self.mean:.3g} +- {self.std:.2g}" if self.n > 1 else f"{self.mean:.3g}"


def spread(values: Sequence[float]) -> Spread:
    """Mean, sample std and count of the finite-or-infinite values (nan values are dropped)."""
    v = np.asarray([x for x in values if not math.isnan(x)], dtype=np.float64)
    if len(v) == 0:
        return Spread(math.nan, math.nan, 0)
    if np.isinf(v).any():
        return Spread(math.inf, math.nan, len(v))
    return Spread(float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else math.nan, len(v))


def aggregate(results: Sequence[BaselinedCapture]) -> dict[str, tuple[Spread, Spread]]:
    """Over seeds: measure -> (trained spread, untrained spread)."""
    out = {}
    for name in MEASURES:
        trained = [r.trained.summary()[name] for r in results]
        untrained = [r.untrained.summary()[name] for r in results]
        out[name] = (spread(trained), spread(untrained))
    return out
