"""What the views draw: snapshots gathered from a live job, or read back from a run file.

Plain Python and numpy (no Qt, no torch), so a test can fill it and check it without a window.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gkn_core.gkn.manifolds import Manifold1D, Manifold2D
from gkn_core.gkn.sample import SampleSnapshot
from gkn_core.gkn.train import TrainSnapshot
from gkn_core.runs.reader import Run

# A window left training overnight must not grow without end: past these sizes the history is thinned.
MAX_POINTS = 1 << 18  # values per series (loss, best loss, step): 2 MB each
MAX_FRAMES = 200  # manifold frames kept for the views and the replay slider


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


@dataclass
class LiveState:
    """Everything the views show about one run. `version` changes whenever something new arrived."""

    dim: int = 1
    low: float = 0.0
    high: float = 1.0
    image_shape: tuple[int, int] | None = None
    data: np.ndarray | None = None  # training points (toy data) or images
    steps: GrowingSeries = field(default_factory=lambda: GrowingSeries(np.int64))
    losses: GrowingSeries = field(default_factory=GrowingSeries)
    best_losses: GrowingSeries = field(default_factory=GrowingSeries)
    manifold_steps: list[int] = field(default_factory=list)
    manifolds: list[Manifold1D | Manifold2D] = field(default_factory=list)
    chains: list[np.ndarray] = field(default_factory=list)  # states per generation, (n_chains, d) each
    burn_in: int = 0
    steps_per_second: float = 0.0
    version: int = 0
    _frame_stride: int = field(default=1, repr=False)
    _frames_offered: int = field(default=0, repr=False)
    _frame_tail: bool = field(default=False, repr=False)

    def add_training(self, snapshots: list[TrainSnapshot]) -> None:
        self.steps.extend([s.step for s in snapshots])
        self.losses.extend([s.loss for s in snapshots])
        self.best_losses.extend([s.best_loss for s in snapshots])
        for s in snapshots:
            if s.manifold is not None:
                self._add_frame(s.step, s.manifold)
        last = snapshots[-1]
        self.steps_per_second = last.step / last.elapsed if last.elapsed > 0 else 0.0
        self.version += 1

    def _add_frame(self, step: int, manifold: Manifold1D | Manifold2D) -> None:
        """Keep at most MAX_FRAMES frames evenly spread over the run, and always the newest last."""
        if self._frame_tail:  # the newest so far was off the stride: this one takes its place
            self.manifold_steps.pop()
            self.manifolds.pop()
        self.manifold_steps.append(step)
        self.manifolds.append(manifold)
        index, self._frames_offered = self._frames_offered, self._frames_offered + 1
        self._frame_tail = index % self._frame_stride != 0
        if not self._frame_tail and len(self.manifolds) > MAX_FRAMES:
            self.manifold_steps = self.manifold_steps[::2]
            self.manifolds = self.manifolds[::2]
            self._frame_stride *= 2
            if index % self._frame_stride != 0:  # thinned away, but the views show the newest
                self.manifold_steps.append(step)
                self.manifolds.append(manifold)
                self._frame_tail = True

    def start_chains(self, starts: np.ndarray, burn_in: int) -> None:
        self.chains = [np.asarray(starts, dtype=np.float32)]
        self.burn_in = burn_in
        self.version += 1

    def add_sampling(self, snapshots: list[SampleSnapshot]) -> None:
        self.chains.extend(s.states for s in snapshots)
        last = snapshots[-1]
        self.steps_per_second = last.step / last.elapsed if last.elapsed > 0 else 0.0
        self.version += 1

    @property
    def chain_array(self) -> np.ndarray | None:
        """(n_chains, generations, d), or None before any sampling."""
        return np.stack(self.chains, axis=1) if self.chains else None

    @property
    def latest_manifold(self) -> Manifold1D | Manifold2D | None:
        return self.manifolds[-1] if self.manifolds else None

    @classmethod
    def from_run(cls, run: Run, sampling: str | int | None = None) -> LiveState:
        """Replay: a run file read back into the same state the live views draw."""
        low, high = run.data_range
        state = cls(dim=run.dim, low=low, high=high, image_shape=run.image_shape, data=run.training_data())
        metrics = run.train_metrics()
        if metrics and len(metrics["step"]):
            state.steps.extend(metrics["step"].tolist())
            state.losses.extend(metrics["loss"].tolist())
            state.best_losses.extend(metrics["best_loss"].tolist())
        frames = run.manifolds()
        if frames:
            for i, step in enumerate(frames["step"].tolist()):
                state.manifold_steps.append(int(step))
                if "fx" in frames:
                    state.manifolds.append(Manifold1D(frames["x"], frames["fx"][i], frames["loss"][i]))
                else:
                    state.manifolds.append(
                        Manifold2D(frames["xs"], frames["ys"], frames["loss"][i], frames["displacement"][i])
                    )
        if run.sampling_names():
            record = run.sampling(sampling)
            state.chains = list(np.moveaxis(record.chains, 1, 0))
            state.burn_in = record.settings.burn_in
        state.version += 1
        return state
