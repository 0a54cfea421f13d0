"""Datasets for GKN Studio: toy point clouds, small image sets and image files.

Every loader returns a `Dataset` whose values already lie in the range the model's output
activation can reach: "unit" is [0, 1] (sigmoid), "symmetric" is [-1, 1] (tanh).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gkn_core.errors import DataError

VALUE_RANGES: tuple[str, ...] = ("unit", "symmetric")


def range_bounds(value_range: str) -> tuple[float, float]:
    """Return (low, high) for "unit" or "symmetric"; DataError for anything else."""
    if value_range == "unit":
        return 0.0, 1.0
    if value_range == "symmetric":
        return -1.0, 1.0
    raise DataError(f"unknown value range {value_range!r}; expected 'unit' or 'symmetric'")


def _readonly(array: np.ndarray, dtype: type, source: np.ndarray) -> np.ndarray:
    out = np.ascontiguousarray(array, dtype=dtype)
    # Never flip the flag on an array the caller still owns and may write to.
    if out.flags.writeable and np.shares_memory(out, source) and source.flags.writeable:
        out = out.copy()
    out.flags.writeable = False
    return out


@dataclass(frozen=True, eq=False)  # eq=False: arrays have no single truth value for ==
class Dataset:
    """An immutable data set of n points of dimension d, every value inside [low, high]."""

    name: str
    x: np.ndarray
    low: float
    high: float
    image_shape: tuple[int, int] | None = None
    labels: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise DataError("a dataset needs a non-empty name")
        if (self.low, self.high) not in ((0.0, 1.0), (-1.0, 1.0)):
            raise DataError(
                f"dataset {self.name!r}: bounds [{self.low}, {self.high}] are neither [0, 1] nor [-1, 1]"
            )
        x = np.asarray(self.x)
        if x.dtype.kind not in "fiu":
            raise DataError(f"dataset {self.name!r}: values have dtype {x.dtype}, not numbers")
        if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
            raise DataError(f"dataset {self.name!r}: expected a non-empty (n, d) array, got shape {x.shape}")
        x = _readonly(x, np.float32, np.asarray(self.x))
        bad = ~np.isfinite(x)
        if bad.any():
            i, j = (int(k) for k in np.argwhere(bad)[0])
            raise DataError(f"dataset {self.name!r}: value {x[i, j]} at [{i}, {j}] is not finite")
        outside = (x < self.low) | (x > self.high)
        if outside.any():
            i, j = (int(k) for k in np.argwhere(outside)[0])
            raise DataError(
                f"dataset {self.name!r}: value {x[i, j]} at [{i}, {j}] is outside "
                f"[{self.low:g}, {self.high:g}]"
            )
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "low", float(self.low))
        object.__setattr__(self, "high", float(self.high))

        if self.image_shape is not None:
            shape = tuple(int(s) for s in self.image_shape)
            if len(shape) != 2 or min(shape) < 1 or shape[0] * shape[1] != x.shape[1]:
                raise DataError(
                    f"dataset {self.name!r}: image shape {self.image_shape} does not match "
                    f"{x.shape[1]} values per point"
                )
            object.__setattr__(self, "image_shape", shape)

        if self.labels is not None:
            labels = np.asarray(self.labels)
            if labels.dtype.kind not in "iu":
                raise DataError(f"dataset {self.name!r}: labels have dtype {labels.dtype}, not integers")
            if labels.shape != (x.shape[0],):
                raise DataError(f"dataset {self.name!r}: {labels.shape} labels for {x.shape[0]} points")
            object.__setattr__(self, "labels", _readonly(labels, np.int64, np.asarray(self.labels)))

    @property
    def dim(self) -> int:
        """Number of values per point (pixels for images)."""
        return int(self.x.shape[1])

    @property
    def n(self) -> int:
        """Number of points."""
        return int(self.x.shape[0])

    @property
    def is_image(self) -> bool:
        """True when each point is a flattened image of `image_shape`."""
        return self.image_shape is not None


def _from_unit(
    name: str,
    unit: np.ndarray,
    value_range: str,
    image_shape: tuple[int, int] | None = None,
    labels: np.ndarray | None = None,
) -> Dataset:
    """Build a Dataset from (n, d) values in [0, 1], mapped into `value_range`."""
    low, high = range_bounds(value_range)
    x = np.asarray(unit, dtype=np.float64)
    if low == -1.0:
        x = 2.0 * x - 1.0
    # Computing in float64 and casting once keeps the endpoints exact (0 -> -1, 1 -> 1).
    x32 = np.array(x, dtype=np.float32, order="C")  # always a fresh array we may freeze
    x32.flags.writeable = False
    return Dataset(name=name, x=x32, low=low, high=high, image_shape=image_shape, labels=labels)
