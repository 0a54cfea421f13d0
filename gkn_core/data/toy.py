"""Toy point clouds: the paper's points, user-given points and seeded generators.

The generators build points in unit coordinates [0, 1]^d; with value_range "symmetric" each value
v is then mapped to 2v - 1, so one seed gives the same shape for a sigmoid or a tanh output layer.
User-given points are taken as they are, in the chosen range, as the run settings write them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from gkn_core.data.dataset import Dataset, _from_unit, range_bounds
from gkn_core.errors import DataError

# Generated arrays beyond this many values (float32: 40 MB) are a typo, not an experiment.
MAX_VALUES = 10_000_000


def paper_points_1d() -> np.ndarray:
    """The two 1D training points of the GKN reference code: 0.2 and 0.8, shape (2, 1)."""
    return np.array([[0.2], [0.8]])


def paper_points_2d() -> np.ndarray:
    """The four 2D training points of the GKN reference code: the corners {0.2, 0.8}^2."""
    return np.array([[0.2, 0.2], [0.2, 0.8], [0.8, 0.2], [0.8, 0.8]])


def points_dataset(
    points: Sequence[float] | Sequence[Sequence[float]] | np.ndarray, value_range: str = "unit"
) -> Dataset:
    """A dataset of user-given points, already inside the value range; a flat list means d = 1.

    Unlike the generators these are not rescaled: [[-0.8], [0.8]] with "symmetric" stays as is.
    """
    low, high = range_bounds(value_range)  # fail on a bad range before looking at the points
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (ValueError, TypeError) as exc:
        # numpy says "inhomogeneous shape" for ragged lists and "could not convert" for text.
        reason = "rows of different lengths" if "inhomogeneous" in str(exc) else "non-numbers"
        raise DataError(f"points must be an (n, d) table of numbers; found {reason}") from exc
    if arr.ndim == 0:
        raise DataError("points must be a list of numbers or a list of rows, not one number")
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise DataError(f"points must be an (n, d) table; got {arr.ndim} dimensions")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DataError(f"points are empty (shape {arr.shape})")
    bad = ~np.isfinite(arr)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise DataError(f"point {i} has a non-finite value {arr[i, j]} (coordinate {j})")
    outside = (arr < low) | (arr > high)
    if outside.any():
        i, j = (int(k) for k in np.argwhere(outside)[0])
        raise DataError(
            f"point {i} has value {arr[i, j]:g} (coordinate {j}) outside the {value_range} "
            f"range [{low:g}, {high:g}]"
        )
    x = np.array(arr, dtype=np.float32, order="C")
    x.flags.writeable = False
    return Dataset(name="points", x=x, low=low, high=high)


def _check_args(n: int, dim: int, seed: int, value_range: str) -> np.random.Generator:
    for label, value, least in (("n", n, 1), ("dim", dim, 1), ("seed", seed, 0)):
        # bool is an int subclass, but n=True is certainly a mistake.
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise DataError(f"{label} must be an integer, got {value!r}")
        if value < least:
            raise DataError(f"{label} must be at least {least}, got {value}")
    if n * dim > MAX_VALUES:
        raise DataError(f"n * dim = {n * dim} values is more than the limit of {MAX_VALUES}")
    range_bounds(value_range)
    return np.random.default_rng(int(seed))


def _shuffled_groups(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    # Balanced group sizes in a random order, so any prefix mixes the groups.
    return rng.permutation(np.arange(n) % k)


def uniform_points(n: int, dim: int, seed: int, value_range: str = "unit") -> Dataset:
    """n points drawn from U[0, 1]^dim (the reference code's loss-vs-n experiment)."""
    rng = _check_args(n, dim, seed, value_range)
    return _from_unit("uniform", rng.random((n, dim)), value_range)


BLOB_STD = 0.04


def _blob_centres(dim: int) -> np.ndarray:
    if dim == 1:
        return np.array([[0.125], [0.375], [0.625], [0.875]])
    # Vertex j of {0.25, 0.75}^dim: coordinate i takes bit (i mod 2) of j, so the four centres
    # differ in every coordinate pair and are at least 0.5 apart (12 standard deviations).
    bits = (np.arange(4)[:, None] >> (np.arange(dim)[None, :] % 2)) & 1
    return 0.25 + 0.5 * bits


def gaussian_blobs(n: int, dim: int, seed: int, value_range: str = "unit") -> Dataset:
    """n points in 4 well separated Gaussian clusters (std 0.04), labelled by cluster."""
    rng = _check_args(n, dim, seed, value_range)
    labels = _shuffled_groups(rng, n, 4)
    x = _blob_centres(dim)[labels] + rng.normal(0.0, BLOB_STD, size=(n, dim))
    return _from_unit("blobs", np.clip(x, 0.0, 1.0), value_range, labels=labels)


RING_RADIUS = 0.3
RING_JITTER = 0.01


def ring(n: int, dim: int, seed: int, value_range: str = "unit") -> Dataset:
    """n points near the circle of radius 0.3 centred at (0.5, 0.5); dim must be 2."""
    rng = _check_args(n, dim, seed, value_range)
    if dim != 2:
        raise DataError(f"the ring dataset is 2-dimensional; dim must be 2, got {dim}")
    angle = rng.uniform(0.0, 2.0 * math.pi, size=n)
    radius = RING_RADIUS + rng.normal(0.0, RING_JITTER, size=n)
    x = 0.5 + radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return _from_unit("ring", np.clip(x, 0.0, 1.0), value_range)


MOONS_NOISE = 0.05  # in the classic moons' own coordinates, where the moons have radius 1


def two_moons(n: int, dim: int, seed: int, value_range: str = "unit") -> Dataset:
    """n points on two interleaved half circles, scaled into [0.1, 0.9]; dim must be 2."""
    rng = _check_args(n, dim, seed, value_range)
    if dim != 2:
        raise DataError(f"the moons dataset is 2-dimensional; dim must be 2, got {dim}")
    labels = _shuffled_groups(rng, n, 2)
    t = rng.uniform(0.0, math.pi, size=n)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    x = np.where(labels[:, None] == 0, upper, lower) + rng.normal(0.0, MOONS_NOISE, (n, 2))
    # The noiseless moons span x in [-1, 2], y in [-0.5, 1]; one scale for both axes keeps
    # their shape, x maps onto [0.1, 0.9] and y is centred; the clip only trims noise.
    scale = 0.8 / 3.0
    x = np.stack([0.1 + (x[:, 0] + 1.0) * scale, 0.5 + (x[:, 1] - 0.25) * scale], axis=1)
    return _from_unit("moons", np.clip(x, 0.1, 0.9), value_range, labels=labels)


TOY_GENERATORS: dict[str, Callable[[int, int, int, str], Dataset]] = {
    "uniform": uniform_points,
    "blobs": gaussian_blobs,
    "ring": ring,
    "moons": two_moons,
}
