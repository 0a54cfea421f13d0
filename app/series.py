"""A growing float series with a bounded, evenly thinned history: the live views' curves."""

from __future__ import annotations

import numpy as np

MAX_POINTS = 1 << 18  # values per series (loss, best loss, step): 2 MB each


class GrowingSeries:
    """A float series that grows by doubling its buffer, so appending stays cheap for long runs.

    It holds at most `limit` values evenly spread over the whole run, and the newest: when full it keeps
    every other value and from then on every 2nd (4th, ...) new one. Series extended together (steps
    and losses) stay aligned.
    """

    def __init__(self, dtype: type = np.float64, limit: int | None = None) -> None:
        self._values = np.empty(1024, dtype=dtype)
        self._kept = 0  # values at the stride, in _values[:_kept]
        self._tail = False  # the newest value, off the stride, follows them
        self._offered = 0
        self.stride = 1
        self.limit = MAX_POINTS if limit is None else limit

    @property
    def size(self) -> int:
        return self._kept + self._tail

    def extend(self, values: list[float]) -> None:
        if not len(values):
            return
        batch = np.asarray(values, dtype=self._values.dtype)
        index = self._offered + np.arange(len(batch))
        self._offered += len(batch)
        on_stride = batch[index % self.stride == 0]
        needed = self._kept + len(on_stride) + 1
        if needed > len(self._values):
            grown = np.empty(max(needed, 2 * len(self._values)), dtype=self._values.dtype)
            grown[: self._kept] = self._values[: self._kept]
            self._values = grown
        self._values[self._kept : self._kept + len(on_stride)] = on_stride
        self._kept += len(on_stride)
        while self._kept > self.limit:  # keep the values at twice the stride
            kept = self._values[: self._kept : 2].copy()
            self._kept = len(kept)
            self._values[: self._kept] = kept
            self.stride *= 2
        self._tail = (self._offered - 1) % self.stride != 0
        if self._tail:
            self._values[self._kept] = batch[-1]

    @property
    def values(self) -> np.ndarray:
        return self._values[: self.size]
