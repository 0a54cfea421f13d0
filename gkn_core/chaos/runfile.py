"""Writing chaos runs (kind "chaos") with the crash-safety rules of the GKN runs.

The writer is the GKN RunWriter (same root attributes, same buffering: rows wait in memory and are
written at a flush, at most every `flush_interval` seconds, at every checkpoint and at the end;
metadata is held until a flush; growing datasets are chunked and uncompressed), with the chaos
groups of docs/run-format.md. It is used from the job's own thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from gkn_core.chaos.config import ChaosConfig, ChaosSampleConfig
from gkn_core.chaos.sample import ChaosSampleSnapshot, ChaosSamplingJob
from gkn_core.chaos.scores import DIGIT_SCORE_NAMES, SCORE_NAMES
from gkn_core.chaos.train import ChaosCheckpoint, ChaosTrainingJob, ChaosTrainSnapshot
from gkn_core.data import Dataset
from gkn_core.errors import Diverged, RunFileError
from gkn_core.runs.format import CHAIN_CHUNK_BYTES
from gkn_core.runs.h5util import append_rows, growing_series, growing_stack, write_settings
from gkn_core.runs.recording import recorded
from gkn_core.runs.writer import RunWriter, utc_now

CHAOS_TRAIN_SERIES = {"step": np.int64, "gap": np.float64, "free_activity": np.float64, "elapsed": np.float64}
SCORE_SERIES = {"step": np.int64, **{name: np.float64 for name in SCORE_NAMES + DIGIT_SCORE_NAMES}}
LYAPUNOV_SERIES = {"step": np.int64, "largest": np.float64}
CHAOS_SAMPLE_SERIES = {"step": np.int64, "activity": np.float64}


class ChaosRunWriter(RunWriter):
    kind = "chaos"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._grids: list[tuple[int, np.ndarray]] = []  # sample grids waiting for the next flush

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
        name = f"checkpoints/{checkpoint.step:010d}"
        if name in self.file:
            return
        self.write_group_and_flush(name, checkpoint.weights, step=checkpoint.step, loss=float("nan"))

    # -- sampling --------------------------------------------------------------------------------
    def begin_chaos_sampling(self, job: ChaosSamplingJob, seed: int, checkpoint_step: int) -> str:
        self.reserve(job.start_frame.nbytes + CHAIN_CHUNK_BYTES)
        with self.writing():
            name = self._begin_chaos_sampling(job, seed, checkpoint_step)
        self.flush()
        return name

    def _begin_chaos_sampling(self, job: ChaosSamplingJob, seed: int, checkpoint_step: int) -> str:
        samplings = self.file.require_group("sampling")
        name = f"{len(samplings):04d}"
        group = samplings.create_group(name)
        group.attrs.update(
            json=job.settings.model_dump_json(),
            seed=seed,
            checkpoint_step=checkpoint_step,
            created=utc_now(),
            status="running",
            failure_reason="",
        )
        write_settings(group.create_group("settings"), job.settings.model_dump(mode="json"))
        group.create_dataset("units", data=job.units.astype(np.int64))
        chains, units = job.start_frame.shape
        per_chunk = int(np.clip(CHAIN_CHUNK_BYTES // max(1, chains * units * 4), 1, job.total_steps + 1))
        group.create_dataset(
            "trajectories",
            shape=(chains, 1, units),
            maxshape=(chains, None, units),
            chunks=(chains, per_chunk, units) if chains and units else None,
            dtype=np.float32,
        )
        group["trajectories"][:, 0] = job.start_frame
        self._create_series(f"{group.name}/metrics", CHAOS_SAMPLE_SERIES)
        self._sampling = group
        self._frames: list[np.ndarray] = []
        self.file.attrs["status"] = "running"
        return name

    def write_chaos_sample_snapshot(self, snapshot: ChaosSampleSnapshot) -> None:
        metrics = f"{self._sampling.name}/metrics"
        self._frames.append(snapshot.frame)
        for name in CHAOS_SAMPLE_SERIES:
            self._queue_row(metrics, name, getattr(snapshot, name))
        self.maybe_flush()

    def _pending_bytes(self) -> int:
        frames = sum(frame.nbytes for frame in getattr(self, "_frames", ()))
        return super()._pending_bytes() + frames + sum(grid.nbytes for _, grid in self._grids)

    def abandon(self) -> None:
        getattr(self, "_frames", []).clear()
        self._grids.clear()
        super().abandon()

    def _write_pending(self) -> None:
        super()._write_pending()
        if self._grids:
            group = self.file["train/samples"]
            append_rows(group["images"], np.stack([grid for _, grid in self._grids]))
            append_rows(group["step"], np.asarray([step for step, _ in self._grids], dtype=np.int64))
            self._grids.clear()
        frames = getattr(self, "_frames", None)
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

    def finish(status: str, reason: str) -> None:
        try:
            if status == "stopped" and job.steps_done > 0:
                # A stopped run is still a model (to sample, analyse, resume from): keep its weights.
                writer.write_chaos_checkpoint(job.checkpoint(job.steps_done))
        finally:
            writer.end(status, reason, section="train")

    return recorded(job, writer.write_chaos_snapshot, finish, keep_last_good_weights)


def record_chaos_sampling(
    job: ChaosSamplingJob, writer: ChaosRunWriter, seed: int, checkpoint_step: int
) -> Iterator[ChaosSampleSnapshot]:
    writer.begin_chaos_sampling(job, seed, checkpoint_step)

    def finish(status: str, reason: str) -> None:
        try:
            writer.end_chaos_sampling(job.samples if status == "completed" else None, status, reason)
        finally:
            writer.end(status, reason)

    return recorded(job, writer.write_chaos_sample_snapshot, finish)


# -- reading -------------------------------------------------------------------------------------
def chaos_series(run: Any, group: str) -> dict[str, np.ndarray]:
    """A chaos run's series group ('train/metrics', 'train/scores', 'train/lyapunov'), cut consistent."""
    if group not in run.file:
        return {}
    return run.series(group, ("step",))


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


def sample_settings(raw: dict[str, Any]) -> ChaosSampleConfig:
    from gkn_core.gkn.config import validate_section

    return validate_section(ChaosSampleConfig, raw, "sample")
