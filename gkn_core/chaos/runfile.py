"""Chaos run files (kind "chaos"; docs/run-format.md): the writer, the recording of the chaos jobs,
and what reading, showing and exporting a chaos run needs.

The writer is the kind-neutral RunWriter of gkn_core.runs (same root attributes, same buffering: rows
wait in memory and are written at a flush, at most every `flush_interval` seconds, at every
checkpoint and at the end; metadata is held until a flush; growing datasets are chunked and
uncompressed), with the chaos groups. It is used from the job's own thread. Importing this module
imports no torch (`gkn runs show` reads chaos runs through it).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from gkn_core.chaos.config import ChaosConfig, ChaosSampleConfig
from gkn_core.data import Dataset
from gkn_core.errors import Diverged, GKNError, RunFileError
from gkn_core.runs.h5util import (
    append_rows,
    create_checked,
    growing_series,
    growing_stack,
)
from gkn_core.runs.layout import create_chain_stack, create_final_rows, final_rows_written
from gkn_core.runs.reader import RunSummary
from gkn_core.runs.recording import recorded_sampling, recorded_training
from gkn_core.runs.writer import RunWriter
from gkn_core.settings import validate_section

if TYPE_CHECKING:  # the jobs (and torch) are loaded where a job runs, not where a run is read
    from gkn_core.chaos.sample import ChaosSampleSnapshot, ChaosSamplingJob
    from gkn_core.chaos.score_times import ScoreTimes
    from gkn_core.chaos.train import ChaosCheckpoint, ChaosTrainingJob, ChaosTrainSnapshot

CHAOS_TRAIN_SERIES = {"step": np.int64, "gap": np.float64, "free_activity": np.float64, "elapsed": np.float64}
# The score series (gkn_core.chaos.scores SCORE_NAMES + DIGIT_SCORE_NAMES), named here so that reading
# and writing a chaos run need not load the scores' torch code.
SCORE_SERIES = {
    "step": np.int64,
    **{
        name: np.float64
        for name in ("E2", "Es", "ER", "AAI", "AAI_data", "AAI_gen", "digit", "digit_entropy")
    },
}
RECORDINGS = "recordings"  # trajectory recordings of the Dynamics view (gkn_core.chaos.recordings)
LYAPUNOV_SERIES = {"step": np.int64, "largest": np.float64}
CHAOS_SAMPLE_SERIES = {"step": np.int64, "activity": np.float64}
# Scores against sampling time (`gkn sample CHAOS_RUN --score-times ...`): /scores_vs_time/<nnnn>, one
# group per measurement, written in one go (its `complete` attribute last, as for recordings).
SCORES_VS_TIME = "scores_vs_time"
SCORE_TIME_NAMES = ("E2", "Es", "ER", "AAI", "AAI_data", "AAI_gen", "class_score", "class_entropy")


class ChaosRunWriter(RunWriter):
    kind = "chaos"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._grids: list[tuple[int, np.ndarray]] = []  # sample grids waiting for the next flush
        self._frames: list[np.ndarray] = []  # trajectory frames of the open sampling, likewise

    def _create_datasets(self, config: ChaosConfig, dataset: Dataset) -> None:
        self._create_series("train/metrics", CHAOS_TRAIN_SERIES)
        self._create_series("train/scores", SCORE_SERIES)
        self._create_series("train/lyapunov", LYAPUNOV_SERIES)
        samples = self.file.require_group("train/samples")
        growing_series(samples, "step", np.int64)
        growing_stack(samples, "images", (config.train.n_samples, dataset.dim), np.float32)

    # -- training --------------------------------------------------------------------------------
    def write_chaos_snapshot(self, snapshot: ChaosTrainSnapshot) -> None:
        for name in CHAOS_TRAIN_SERIES:
            self._queue_row("train/metrics", name, getattr(snapshot, name))
        if snapshot.scores:
            self._queue_row("train/scores", "step", snapshot.step)
            for name in SCORE_SERIES:
                if name != "step":
                    self._queue_row("train/scores", name, snapshot.scores.get(name, float("nan")))
        if snapshot.lyapunov is not None:
            self._queue_row("train/lyapunov", "step", snapshot.step)
            self._queue_row("train/lyapunov", "largest", snapshot.lyapunov)
        if snapshot.samples is not None:  # queued like the rows: written at the next flush
            images = self.file["train/samples/images"]
            frame = np.zeros(images.shape[1:], dtype=np.float32)  # fewer chains than n_samples: zero rows
            frame[: len(snapshot.samples)] = snapshot.samples
            self._grids.append((snapshot.step, frame))
        if snapshot.checkpoint is not None:
            self.write_chaos_checkpoint(snapshot.checkpoint)  # flushes
        else:
            self.maybe_flush()

    def write_chaos_checkpoint(self, checkpoint: ChaosCheckpoint) -> None:
        self.write_weights(checkpoint.step, checkpoint.weights)

    # -- sampling --------------------------------------------------------------------------------
    def begin_chaos_sampling(self, job: ChaosSamplingJob, seed: int, checkpoint_step: int) -> str:
        return self._open_sampling(
            job.settings,
            seed,
            checkpoint_step,
            job.start_frame.nbytes,
            lambda g: self._create_sampling(g, job),
        )

    def _create_sampling(self, group: h5py.Group, job: ChaosSamplingJob) -> None:
        """Every dataset a chaos sampling writes, made here, before the file goes live: in SWMR mode
        nothing can be added later. A new series of the sampling is declared here (growing, empty)."""
        create_checked(group, "units", data=job.units.astype(np.int64))
        create_chain_stack(group, "trajectories", job.start_frame, job.total_steps)
        self._create_series(f"{group.name}/metrics", CHAOS_SAMPLE_SERIES)
        create_final_rows(group, "samples", job.settings.n, job.model.n_visible)  # when it completes
        self._frames = []

    def write_chaos_sample_snapshot(self, snapshot: ChaosSampleSnapshot) -> None:
        metrics = f"{self._sampling.name}/metrics"
        self._frames.append(snapshot.frame)
        for name in CHAOS_SAMPLE_SERIES:
            self._queue_row(metrics, name, getattr(snapshot, name))
        self.maybe_flush()

    def _pending_bytes(self) -> int:
        frames = sum(frame.nbytes for frame in self._frames)
        return super()._pending_bytes() + frames + sum(grid.nbytes for _, grid in self._grids)

    def _drop_pending(self) -> None:
        super()._drop_pending()
        self._frames.clear()
        self._grids.clear()

    def _write_pending(self) -> None:
        super()._write_pending()
        if self._grids:
            group = self.file["train/samples"]
            append_rows(group["images"], np.stack([grid for _, grid in self._grids]))
            append_rows(group["step"], np.asarray([step for step, _ in self._grids], dtype=np.int64))
            self._grids.clear()
        frames = self._frames
        if frames and self._sampling is not None:
            trajectories = self._sampling["trajectories"]
            first = trajectories.shape[1]
            trajectories.resize(first + len(frames), axis=1)
            trajectories[:, first:] = np.stack(frames, axis=1)
            frames.clear()

    def end_chaos_sampling(self, samples: np.ndarray | None, status: str, reason: str = "") -> None:
        """The last frames and the samples, then the sampling's status; a write that fails here
        marks the sampling failed and raises RunFileError."""
        self._end_sampling_group(status, reason, lambda: samples, 0 if samples is None else samples.nbytes)


def record_chaos_training(job: ChaosTrainingJob, writer: ChaosRunWriter) -> Iterator[ChaosTrainSnapshot]:
    def keep_last_good_weights(exc: BaseException) -> None:
        if isinstance(exc, Diverged) and exc.checkpoint is not None:
            writer.write_chaos_checkpoint(exc.checkpoint)

    def stopped_weights() -> None:
        writer.write_chaos_checkpoint(job.checkpoint(job.steps_done))

    return recorded_training(
        job, writer, writer.write_chaos_snapshot, keep_last_good_weights, stopped_weights
    )


def record_chaos_sampling(
    job: ChaosSamplingJob, writer: ChaosRunWriter, seed: int, checkpoint_step: int
) -> Iterator[ChaosSampleSnapshot]:
    writer.begin_chaos_sampling(job, seed, checkpoint_step)

    def end_sampling(status: str, reason: str) -> None:
        writer.end_chaos_sampling(job.samples if status == "completed" else None, status, reason)

    return recorded_sampling(job, writer, writer.write_chaos_sample_snapshot, end_sampling)


# -- reading -------------------------------------------------------------------------------------
def chaos_series(run: Any, group: str) -> dict[str, np.ndarray]:
    """A chaos run's series group ('train/metrics', 'train/scores', 'train/lyapunov'), cut consistent."""
    if group not in run.file:
        return {}
    return run.series(group, ("step",))


def run_summary(run: Any) -> RunSummary:
    """The runs table's words on a chaos run: its network, learning rate and data; its last scores
    (sorted by E2)."""
    c = run.config
    settings = f"{c.model.arch} Nh={c.model.Nh} g={c.model.g:g} k={c.train.k:g} data={c.data.source}"
    scores = chaos_series(run, "train/scores")
    if not scores or not len(scores["step"]):
        return RunSummary(settings)
    shown = {name: scores[name][-1] for name in ("E2", "AAI") if name in scores}
    best = " ".join(f"{name} {value:.3g}" for name, value in shown.items())
    return RunSummary(settings, best, float(shown.get("E2", math.inf)))


def load_chaos_model(run: Any, step: int | None = None, device: Any = "cpu") -> tuple[Any, int]:
    """The network of a chaos run's newest checkpoint (or of `step`) and that step."""
    from gkn_core.chaos.models import build_chaos_model

    if run.kind != "chaos":
        raise RunFileError(f"{run.path} is a {run.kind} run, not a chaos run")
    checkpoint = run.checkpoint(step)
    model = build_chaos_model(run.config.model, run.dim, device, seed=run.config.seed)
    try:
        model.load_weights(checkpoint.weights)
    except (ValueError, KeyError) as exc:
        raise RunFileError(
            f"{run.path}: checkpoint {checkpoint.step} does not fit its settings ({exc})"
        ) from None
    return model, checkpoint.step


def recording_names(run: Any) -> list[str]:
    """Names of the complete recordings of a run, oldest first (torn ones are left out)."""
    if RECORDINGS not in run.file:
        return []
    group = run.file[RECORDINGS]
    return sorted(name for name in group if bool(group[name].attrs.get("complete", False)))


def export_arrays(run: Any, what: str, sampling: int | None) -> dict[str, Any]:
    """The arrays `gkn export --what chains|samples` writes for a chaos run: the recorded
    trajectories (as 'chains', with the indices of their units) or the samples phi(v(T))."""
    names = run.sampling_names()
    if not names:
        raise GKNError(f"{run.path} holds no sampling yet (run `gkn sample {run.path}`)")
    index = -1 if sampling is None else sampling
    if not -len(names) <= index < len(names):
        raise GKNError(f"{run.path} has {len(names)} samplings; there is no number {index}")
    where = f"sampling/{names[index]}"
    group = run.file[where]
    if what == "samples":
        if not final_rows_written(group):
            raise GKNError(f"sampling {names[index]} of {run.path} did not complete: it has no samples")
        return {"samples": run.numbers(f"{where}/samples", ndim=2)}
    metrics = run.series(f"{where}/metrics") if "metrics" in group else {}
    chains = run.numbers(f"{where}/trajectories", ndim=3)
    if "step" in metrics:
        chains = chains[:, : len(metrics["step"]) + 1]
    return {
        "chains": chains,
        "units": np.asarray(run.numbers(f"{where}/units", ndim=1)),
        **{f"metrics_{k}": v for k, v in metrics.items()},
    }


def sample_settings(raw: dict[str, Any]) -> ChaosSampleConfig:
    return validate_section(ChaosSampleConfig, raw, "sample")


# -- scores against sampling time ------------------------------------------------------------------
@dataclass(frozen=True)
class ScoreTimesRecord:
    """One /scores_vs_time/<nnnn> group read back (arrays of len(times))."""

    name: str
    times: np.ndarray  # model time units (as T)
    steps: np.ndarray  # Euler steps
    scores: dict[str, np.ndarray]  # SCORE_TIME_NAMES
    n: int
    aai_rows: int
    training_T: float
    seed: int
    checkpoint_step: int
    class_score_name: str  # "digit score", "item score" or "no class score"


def create_score_times_datasets(group: h5py.Group, result: ScoreTimes) -> None:
    """Every dataset of one scores-vs-time measurement, (K,) each for K times, and its attributes."""
    from gkn_core.class_score import score_name

    create_checked(group, "times", data=np.asarray(result.times, dtype=np.float64))
    create_checked(group, "steps", data=np.asarray(result.steps, dtype=np.int64))
    for name in SCORE_TIME_NAMES:
        create_checked(group, name, data=np.asarray(result.scores[name], dtype=np.float64))
    group.attrs.update(
        n=result.n,
        aai_rows=result.aai_rows,
        training_T=result.training_T,
        seed=result.seed,
        checkpoint_step=result.checkpoint_step,
        class_score_name=score_name(result.dataset_name),
    )


def write_score_times(run_path: str | Path, result: ScoreTimes) -> str:
    """Append one measurement to a chaos run as /scores_vs_time/<nnnn>, on a copy of the closed file
    renamed over it when complete (gkn_core.runs.append); returns its name."""
    from gkn_core.runs.append import add_numbered_group

    def fill(group: h5py.Group) -> None:
        create_score_times_datasets(group, result)

    return add_numbered_group(Path(run_path), SCORES_VS_TIME, fill, "the scores")


def score_times_names(run: Any) -> list[str]:
    """The complete scores-vs-time measurements of a run, oldest first."""
    if SCORES_VS_TIME not in run.file:
        return []
    group = run.file[SCORES_VS_TIME]
    return sorted(name for name in group if bool(group[name].attrs.get("complete", False)))


def read_score_times(run: Any, name: str | int | None = None) -> ScoreTimesRecord:
    """One measurement (the newest when `name` is None), every array checked to have len(times)."""
    empty = f"holds no scores against sampling time (run `gkn sample {run.path} --score-times ...`)"
    name = run.pick(score_times_names(run), name, "scores-vs-time measurement", empty)
    where = f"{SCORES_VS_TIME}/{name}"
    group = run.file[where]
    times = run.numbers(f"{where}/times", ndim=1)
    arrays = {key: run.numbers(f"{where}/{key}", ndim=1) for key in ("steps", *SCORE_TIME_NAMES)}
    for key, values in arrays.items():
        if values.shape != times.shape:
            raise RunFileError(f"{run.path}: {where}/{key} has {len(values)} values for {len(times)} times")
    a = group.attrs
    return ScoreTimesRecord(
        name=name,
        times=times,
        steps=arrays.pop("steps"),
        scores=arrays,
        n=int(a["n"]),
        aai_rows=int(a["aai_rows"]),
        training_T=float(a["training_T"]),
        seed=int(a["seed"]),
        checkpoint_step=int(a["checkpoint_step"]),
        class_score_name=str(a.get("class_score_name", "")),
    )
