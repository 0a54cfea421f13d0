"""The sampling generations a window keeps: bounded, whatever the number of steps (issue #17.5).

A sampling run of millions of steps must not grow the window's memory: `ChainHistory` keeps the start,
the newest generations exactly (a window of `recent` of them, what the tails and the kaleidoscope's
strip draw) and the older ones thinned (every `stride`-th generation, the stride doubling whenever more
than `recent` are kept). Indexing by generation works for every generation offered: a thinned one reads
as the nearest kept generation before it (the replay slider scrubs the whole run, coarser further back).
The run file holds every generation; a replay reads only what this keeps (`ChainHistory.from_dataset`).

Plain numpy, no Qt.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterator

import numpy as np

CHAIN_BUDGET_BYTES = 64 * 2**20  # at most about this much chain state in a window (both parts)
MAX_RECENT = 512  # generations kept exactly at most (and thinned ones at most as many)
MIN_RECENT = 16  # ... and at least, however many chains


def recent_for(generation_bytes: int, budget: int = CHAIN_BUDGET_BYTES) -> int:
    """How many generations fit half the budget (the other half holds the thinned history)."""
    return int(np.clip(budget // max(1, 2 * generation_bytes), MIN_RECENT, MAX_RECENT))


class ChainHistory:
    def __init__(self, recent: int | None = None) -> None:
        self.recent = recent  # set from the first generation's size when None
        self.count = 0  # generations offered so far, the start (generation 0) included
        self.stride = 1  # the thinned part keeps the generations that are multiples of it
        self._old_generations: list[int] = []
        self._old: list[np.ndarray] = []
        self._newest: deque[tuple[int, np.ndarray]] = deque()

    # -- filling ----------------------------------------------------------------------------------
    def append(self, states: np.ndarray) -> None:
        if self.recent is None:
            self.recent = recent_for(np.asarray(states).nbytes)
        self._newest.append((self.count, states))
        self.count += 1
        if len(self._newest) > self.recent:
            generation, old = self._newest.popleft()
            self._keep_old(generation, old)

    def extend(self, generations) -> None:
        for states in generations:
            self.append(states)

    def _keep_old(self, generation: int, states: np.ndarray) -> None:
        if generation % self.stride:
            return
        self._old_generations.append(generation)
        self._old.append(states)
        if len(self._old) > (self.recent or MAX_RECENT):
            self._old_generations = self._old_generations[::2]  # 0, 2s, 4s, ...: the start stays
            self._old = self._old[::2]
            self.stride *= 2

    @classmethod
    def from_dataset(cls, chains, count: int | None = None) -> ChainHistory:
        """The history of a recorded sampling, read from its (n_chains, generations, d) dataset (an
        h5py dataset or an array): only the generations it keeps are read."""
        count = chains.shape[1] if count is None else min(count, chains.shape[1])
        history = cls(recent_for(chains.shape[0] * chains.shape[2] * chains.dtype.itemsize))
        first_recent = max(0, count - history.recent)
        stride = 1
        while first_recent and -(-first_recent // stride) > history.recent:
            stride *= 2
        if first_recent:
            old = np.asarray(chains[:, 0:first_recent:stride])
            history._old_generations = list(range(0, first_recent, stride))
            history._old = list(np.moveaxis(old, 1, 0))
        newest = np.asarray(chains[:, first_recent:count])
        history._newest = deque(zip(range(first_recent, count), np.moveaxis(newest, 1, 0), strict=True))
        history.count, history.stride = count, stride
        return history

    # -- reading ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0

    def shown_generation(self, generation: int) -> int:
        """The generation actually kept for `generation` (itself, or the nearest kept one before)."""
        if generation < 0:
            generation += self.count
        if not 0 <= generation < self.count:
            raise IndexError(f"generation {generation} of {self.count}")
        if self._newest and generation >= self._newest[0][0]:
            return generation
        return self._old_generations[bisect.bisect_right(self._old_generations, generation) - 1]

    def __getitem__(self, generation: int) -> np.ndarray:
        shown = self.shown_generation(generation)
        if self._newest and shown >= self._newest[0][0]:
            return self._newest[shown - self._newest[0][0]][1]
        return self._old[bisect.bisect_left(self._old_generations, shown)]

    def kept_generations(self) -> list[int]:
        return self._old_generations + [generation for generation, _ in self._newest]

    def __iter__(self) -> Iterator[np.ndarray]:
        """The states of every kept generation, oldest first (all of them until thinning starts)."""
        yield from self._old
        for _, states in self._newest:
            yield states

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self._old) + sum(s.nbytes for _, s in self._newest)
