"""What a trained GKN does to the whole input space, evaluated on grids in one batched call.

1D: the output manifold f(x) and the loss manifold ||x - f(x)||^2 / D (the reference code's plots).
2D: the loss map, the displacement field f(x) - x, and the basins of attraction of the noise-free
iteration x <- f(x). Also the two numbers behind the paper's depth claim: how many iterations a grid
point needs to reach the training points, and the fraction of inputs where f is flat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from gkn_core.job import frozen_array

EVAL_CHUNK = 65_536  # rows per forward pass: a 256x256 grid is one chunk


@dataclass(frozen=True)
class Manifold1D:
    x: np.ndarray  # (n,) grid
    fx: np.ndarray  # (n,) output manifold
    loss: np.ndarray  # (n,) (x - f(x))^2


@dataclass(frozen=True)
class Manifold2D:
    xs: np.ndarray  # (nx,) grid along x (first coordinate)
    ys: np.ndarray  # (ny,) grid along y (second coordinate)
    loss: np.ndarray  # (ny, nx) ||p - f(p)||^2 / 2, row index is y
    displacement: np.ndarray  # (ny, nx, 2) f(p) - p


@dataclass(frozen=True)
class Basins:
    xs: np.ndarray  # (nx,)
    ys: np.ndarray  # (ny,)
    attractors: np.ndarray  # (k, 2) where the iteration comes to rest
    label: np.ndarray  # (ny, nx) int32 index into attractors; -1 where it never came to rest
    steps: np.ndarray  # (ny, nx) int32 iterations until it moved less than the tolerance


def model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def apply_model(model: nn.Module, points: torch.Tensor) -> torch.Tensor:
    """f(points) for any number of rows, in chunks that fit in memory."""
    if points.shape[0] <= EVAL_CHUNK:
        return model(points)
    return torch.cat([model(chunk) for chunk in points.split(EVAL_CHUNK)])


def grid_1d(low: float, high: float, n: int) -> np.ndarray:
    return np.linspace(low, high, n, dtype=np.float32)


def grid_2d_points(low: float, high: float, n: int) -> tuple[np.ndarray, torch.Tensor]:
    """The axis values and the (n*n, 2) points, row-major with y as the slow index."""
    axis = grid_1d(low, high, n)
    gx, gy = np.meshgrid(axis, axis)  # (ny, nx) each
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    return axis, torch.from_numpy(points)


def manifold_1d(model: nn.Module, low: float, high: float, n: int = 100) -> Manifold1D:
    x = grid_1d(low, high, n)
    points = torch.from_numpy(x[:, None]).to(model_device(model))
    fx = apply_model(model, points)
    loss = ((points - fx) ** 2).mean(dim=1)
    return Manifold1D(frozen_array(x), frozen_array(fx[:, 0]), frozen_array(loss))


def manifold_2d(model: nn.Module, low: float, high: float, n: int = 256) -> Manifold2D:
    axis, points = grid_2d_points(low, high, n)
    points = points.to(model_device(model))
    fx = apply_model(model, points)
    displacement = fx - points
    loss = (displacement**2).mean(dim=1)
    return Manifold2D(
        frozen_array(axis),
        frozen_array(axis),
        frozen_array(loss.reshape(n, n)),
        frozen_array(displacement.reshape(n, n, 2)),
    )


def manifold_snapshot(
    model: nn.Module, dim: int, low: float, high: float, n: int
) -> Manifold1D | Manifold2D | None:
    """The manifold a view can draw for this input dimension (none beyond 2D)."""
    if dim == 1:
        return manifold_1d(model, low, high, n)
    if dim == 2:
        return manifold_2d(model, low, high, n)
    return None


@torch.no_grad()
def iterate_to_rest(
    model: nn.Module, x0: torch.Tensor, max_steps: int = 200, tol: float = 1e-4
) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise-free iteration x <- f(x) from every row of x0.

    Returns the last states and, per row, the number of iterations after which one more step moved
    it by less than `tol` (max norm); rows that never came to rest get `max_steps`.
    """
    x = x0
    steps = torch.full((x0.shape[0],), max_steps, dtype=torch.int32, device=x0.device)
    at_rest = torch.zeros(x0.shape[0], dtype=torch.bool, device=x0.device)
    for t in range(max_steps):
        fx = apply_model(model, x)
        moved = (fx - x).abs().amax(dim=1)
        newly = (moved < tol) & ~at_rest
        steps[newly] = t
        at_rest |= newly
        x = fx
        if bool(at_rest.all()):
            break
    return x, steps


def cluster_points(points: torch.Tensor, radius: float, max_clusters: int = 256) -> tuple:
    """Greedy clustering: each cluster is every point within `radius` of its first member."""
    labels = torch.full((points.shape[0],), -1, dtype=torch.int64, device=points.device)
    centres = []
    for k in range(max_clusters):
        free = (labels < 0).nonzero()
        if free.numel() == 0:
            break
        seed = points[free[0, 0]]
        near = ((points - seed).abs().amax(dim=1) < radius) & (labels < 0)
        labels[near] = k
        centres.append(points[near].mean(dim=0))
    if not centres:
        return torch.zeros((0, points.shape[1])), labels
    return torch.stack(centres), labels


def basins_2d(
    model: nn.Module,
    low: float,
    high: float,
    n: int = 256,
    max_steps: int = 200,
    tol: float = 1e-4,
    merge_radius: float = 1e-2,
) -> Basins:
    axis, points = grid_2d_points(low, high, n)
    points = points.to(model_device(model))
    final, steps = iterate_to_rest(model, points, max_steps, tol)
    rested = steps < max_steps
    attractors, labels = cluster_points(final[rested], merge_radius)
    label = torch.full((points.shape[0],), -1, dtype=torch.int64, device=points.device)
    label[rested] = labels
    return Basins(
        frozen_array(axis),
        frozen_array(axis),
        frozen_array(attractors.float()),
        frozen_array(label.reshape(n, n).to(torch.int32)),
        frozen_array(steps.reshape(n, n)),
    )


@torch.no_grad()
def steps_to_reach(
    model: nn.Module,
    starts: torch.Tensor,
    targets: torch.Tensor,
    tol: float = 0.01,
    max_steps: int = 100,
) -> torch.Tensor:
    """Per start, the iterations of x <- f(x) until it is within `tol` (max norm) of a target.

    0 means it starts there; `max_steps + 1` means it never got there.
    """
    x = starts
    steps = torch.full((x.shape[0],), max_steps + 1, dtype=torch.int64, device=x.device)
    for t in range(max_steps + 1):
        near = (torch.cdist(x, targets, p=float("inf")).amin(dim=1) <= tol) & (steps > max_steps)
        steps[near] = t
        if bool((steps <= max_steps).all()):
            break
        x = apply_model(model, x)
    return steps


def flat_fraction_1d(
    model: nn.Module, low: float, high: float, n: int = 201, threshold: float = 0.1
) -> float:
    """Fraction of a 1D grid where |f'(x)| < threshold: the flat regions of the many-to-one map."""
    x = torch.from_numpy(grid_1d(low, high, n)[:, None]).to(model_device(model))
    x.requires_grad_(True)
    with torch.enable_grad():
        fx = model(x)
        (slope,) = torch.autograd.grad(fx.sum(), x)
    return float((slope.abs() < threshold).float().mean())
