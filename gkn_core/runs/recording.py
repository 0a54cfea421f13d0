"""Drive a job and record it: the one loop the CLI, the app's worker and the sweep runner share.

`record_training` and `record_sampling` are generators: they yield every snapshot after it is
written, and whatever ends the loop (the end, a stop, an error, the driver closing the generator)
leaves the run file closed with the matching status.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import TypeVar

from gkn_core.errors import GKNError, JobFailed
from gkn_core.gkn.sample import KaleidoscopeSamplingJob, SampleSnapshot
from gkn_core.gkn.train import GKNTrainingJob, TrainingDiverged, TrainSnapshot
from gkn_core.job import Job
from gkn_core.runs.writer import RunWriter

SnapshotT = TypeVar("SnapshotT")


def recorded(
    job: Job[SnapshotT],
    write: Callable[[SnapshotT], None],
    finish: Callable[[str, str], None],
    on_failure: Callable[[BaseException], None] | None = None,
) -> Iterator[SnapshotT]:
    status, reason = "failed", "the job ended unexpectedly"
    try:
        for snapshot in job:
            write(snapshot)
            yield snapshot
        if job.stop_requested:
            status, reason = "stopped", "stopped before the last step"
        else:
            status, reason = "completed", ""
    except (GeneratorExit, KeyboardInterrupt):
        status, reason = "stopped", "interrupted before the last step"
        raise
    except BaseException as exc:
        if on_failure is not None:
            # Keeping weights is a courtesy: if the disk refuses them, the job's own error still counts.
            with contextlib.suppress(GKNError):
                on_failure(exc)
        reason = str(exc) or type(exc).__name__
        raise
    finally:
        finish(status, reason)


def record_training(job: GKNTrainingJob, writer: RunWriter) -> Iterator[TrainSnapshot]:
    def keep_last_good_weights(exc: BaseException) -> None:
        """A diverged or failed (e.g. out of memory) training keeps the best weights it reached."""
        if isinstance(exc, TrainingDiverged) and exc.checkpoint is not None:
            writer.write_checkpoint(exc.checkpoint)
        elif isinstance(exc, JobFailed) and math.isfinite(job.best_loss):
            writer.write_checkpoint(job.best_checkpoint())

    def finish(status: str, reason: str) -> None:
        try:
            if status == "stopped" and job.steps_done > 0:
                # A stopped run is still a model: keep the weights it would have ended with.
                writer.write_checkpoint(job.model_checkpoint(job.steps_done, job.best_loss))
        finally:
            writer.end(status, reason, section="train")

    return recorded(job, writer.write_train_snapshot, finish, keep_last_good_weights)


def record_sampling(
    job: KaleidoscopeSamplingJob, writer: RunWriter, seed: int, checkpoint_step: int
) -> Iterator[SampleSnapshot]:
    writer.begin_sampling(job.settings, seed, checkpoint_step, job.starts)

    def finish(status: str, reason: str) -> None:
        try:
            writer.end_sampling(status, reason)
        finally:
            writer.end(status, reason)

    return recorded(job, writer.write_sample_snapshot, finish)
