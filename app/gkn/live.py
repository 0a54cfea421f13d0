"""What the GKN views draw: snapshots gathered from a live job, or read back from a run file.

Plain Python and numpy (no Qt, no torch), so a test can fill it and check it without a window.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.gkn.chain_history import ChainHistory
from app.series import GrowingSeries
from gkn_core.class_score import ClassScore
from gkn_core.gkn.manifolds import Manifold1D, Manifold2D
from gkn_core.gkn.sample import SampleSnapshot
from gkn_core.gkn.train import TrainSnapshot
from gkn_core.runs.reader import Run

# A window left training overnight must not grow without end: past this size the frames are thinned
# (the series thin themselves: app.series.MAX_POINTS).
MAX_FRAMES = 200  # manifold frames kept for the views and the replay slider


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
    # states per generation, (n_chains, d) each: the newest exactly, older ones thinned (bounded)
    chains: ChainHistory = field(default_factory=ChainHistory)
    burn_in: int = 0
    # the class score of every generation of an image sampling (thinned together when long)
    quality_generation: GrowingSeries = field(default_factory=lambda: GrowingSeries(np.int64))
    quality_score: GrowingSeries = field(default_factory=GrowingSeries)  # confident share
    quality_classes: GrowingSeries = field(default_factory=GrowingSeries)  # classes seen, of 10
    quality_name: str = ""  # "digit score", "item score"; "" when none was recorded
    quality_reason: str = ""  # why there is no class score
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

    def start_chains(self, starts: np.ndarray, burn_in: int, quality: ClassScore | None = None) -> None:
        self.chains = ChainHistory()
        self.chains.append(np.asarray(starts, dtype=np.float32))
        self.burn_in = burn_in
        self._clear_quality()
        if quality is not None:
            self.quality_name, self.quality_reason = quality.name, quality.reason
            self._add_quality([0], [quality])
        self.version += 1

    def _clear_quality(self) -> None:
        self.quality_generation = GrowingSeries(np.int64)
        self.quality_score, self.quality_classes = GrowingSeries(), GrowingSeries()
        self.quality_name = self.quality_reason = ""

    def _add_quality(self, generations: list[int], scores: list[ClassScore]) -> None:
        self.quality_generation.extend(generations)
        self.quality_score.extend([s.fraction for s in scores])
        self.quality_classes.extend([s.classes_seen for s in scores])

    def add_sampling(self, snapshots: list[SampleSnapshot]) -> None:
        self.chains.extend(s.states for s in snapshots)
        scored = [s for s in snapshots if s.quality is not None]
        if scored and self.quality_name:
            self._add_quality([s.step for s in scored], [s.quality for s in scored])
        last = snapshots[-1]
        self.steps_per_second = last.step / last.elapsed if last.elapsed > 0 else 0.0
        self.version += 1

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
            record = run.sampling(sampling, read_chains=False)  # the chains: only the generations kept
            state.chains = ChainHistory.from_dataset(run.sampling_chains(record.name), record.generations)
            state.burn_in = record.settings.burn_in
            if record.has_quality:
                q = record.quality
                state.quality_name, state.quality_reason = record.quality_name, record.quality_reason
                state.quality_generation.extend(q["generation"].tolist())
                state.quality_score.extend(q["class_score"].tolist())
                state.quality_classes.extend(q["classes_seen"].astype(float).tolist())
        state.version += 1
        return state
