"""What the chaos training view draws: snapshots of a live CHL job, or a chaos run file read back.

Plain Python and numpy (no Qt, no torch): a test can fill it and check it without a window.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.series import GrowingSeries
from gkn_core.chaos.runfile import ScoreTimesRecord, chaos_series, read_score_times, score_times_names
from gkn_core.chaos.scores import DIGIT_SCORE_NAMES, SCORE_NAMES
from gkn_core.chaos.train import ChaosCheckpoint, ChaosTrainSnapshot
from gkn_core.class_score import score_name
from gkn_core.runs.reader import Run

SCORES_SHOWN = ("E2", "Es", "ER", "AAI", "digit")  # the four scores and the class score (digit/item)
SCORE_KEYS = SCORE_NAMES + DIGIT_SCORE_NAMES
MAX_GRIDS = 400  # sample grids kept for the view and its slider (48 x 784 floats each for MNIST)


@dataclass
class ChaosTrainState:
    """Everything the training view shows about one chaos run; `version` changes with each arrival."""

    image_shape: tuple[int, int] | None = None
    title: str = ""
    # What the `digit` series holds for this run's data: "digit score", "item score", "no class score".
    class_score_name: str = "digit score"
    steps: GrowingSeries = field(default_factory=lambda: GrowingSeries(np.int64))
    gap: GrowingSeries = field(default_factory=GrowingSeries)
    activity: GrowingSeries = field(default_factory=GrowingSeries)
    score_steps: list[int] = field(default_factory=list)
    scores: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in SCORE_KEYS})
    lyapunov_steps: list[int] = field(default_factory=list)
    lyapunov: list[float] = field(default_factory=list)
    sample_steps: list[int] = field(default_factory=list)
    sample_grids: list[np.ndarray] = field(default_factory=list)  # (n_samples, Nv) each, in [-1, 1]
    checkpoint: ChaosCheckpoint | None = None  # the newest weights a live job delivered
    total_steps: int = 0
    _grid_ids: list[int] = field(default_factory=list)  # arrival number of each kept grid
    _grids_seen: int = 0
    _grid_stride: int = 1
    steps_per_second: float = 0.0
    # the newest scores-against-sampling-time measurement of the run (`gkn sample --score-times`)
    score_times: ScoreTimesRecord | None = None
    version: int = 0

    def add(self, snapshots: list[ChaosTrainSnapshot]) -> None:
        self.steps.extend([s.step for s in snapshots])
        self.gap.extend([s.gap for s in snapshots])
        self.activity.extend([s.free_activity for s in snapshots])
        for s in snapshots:
            if s.scores:
                self.score_steps.append(s.step)
                for key in SCORE_KEYS:
                    self.scores[key].append(s.scores.get(key, float("nan")))
            if s.lyapunov is not None:
                self.lyapunov_steps.append(s.step)
                self.lyapunov.append(s.lyapunov)
            if s.samples is not None:
                self._add_grid(s.step, s.samples)
            if s.checkpoint is not None:
                self.checkpoint = s.checkpoint
        last = snapshots[-1]
        self.total_steps = last.total_steps
        self.steps_per_second = last.step / last.elapsed if last.elapsed > 0 else 0.0
        self.version += 1

    def _add_grid(self, step: int, grid: np.ndarray) -> None:
        """Keep at most MAX_GRIDS grids, evenly spread over the run (every `stride`-th that arrived),
        and always the newest last: memory stays bounded however long the run."""
        if self._grid_ids and self._grid_ids[-1] % self._grid_stride:  # the newest, off the stride
            del self.sample_steps[-1], self.sample_grids[-1], self._grid_ids[-1]
        self.sample_steps.append(step)
        self.sample_grids.append(grid)
        self._grid_ids.append(self._grids_seen)
        self._grids_seen += 1
        if len(self.sample_grids) > MAX_GRIDS:
            self._grid_stride *= 2
            last = len(self._grid_ids) - 1
            keep = [i for i, n in enumerate(self._grid_ids) if n % self._grid_stride == 0 or i == last]
            self.sample_steps = [self.sample_steps[i] for i in keep]
            self.sample_grids = [self.sample_grids[i] for i in keep]
            self._grid_ids = [self._grid_ids[i] for i in keep]

    def score(self, name: str) -> np.ndarray:
        return np.asarray(self.scores[name], dtype=np.float64)

    @classmethod
    def from_run(cls, run: Run) -> ChaosTrainState:
        """Replay: a chaos run file read back into the state the live view draws."""
        config = run.config
        state = cls(
            image_shape=run.image_shape,
            total_steps=config.train.steps,
            title=run.path.name,
            class_score_name=score_name(config.data.source),
        )
        metrics = chaos_series(run, "train/metrics")
        if metrics and len(metrics["step"]):
            state.steps.extend(metrics["step"].tolist())
            state.gap.extend(metrics["gap"].tolist())
            state.activity.extend(metrics["free_activity"].tolist())
        scores = chaos_series(run, "train/scores")
        if scores and len(scores["step"]):
            state.score_steps = scores["step"].astype(int).tolist()
            n = len(state.score_steps)
            for key in SCORE_KEYS:
                state.scores[key] = scores[key].tolist() if key in scores else [float("nan")] * n
        lyapunov = chaos_series(run, "train/lyapunov")
        if lyapunov and len(lyapunov["step"]):
            state.lyapunov_steps = lyapunov["step"].astype(int).tolist()
            state.lyapunov = lyapunov["largest"].tolist()
        if "train/samples" in run.file:
            group = run.file["train/samples"]
            count = min(len(group["step"]), len(group["images"]))  # a cut file: only whole grids
            for step, grid in zip(group["step"][:count].tolist(), group["images"][:count], strict=True):
                state._add_grid(int(step), np.asarray(grid, dtype=np.float32))
        if score_times_names(run):
            state.score_times = read_score_times(run)
        state.version += 1
        return state
