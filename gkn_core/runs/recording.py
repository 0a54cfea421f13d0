"""Drive a job and record it: the one loop the CLI, the app's worker and the sweep runner share.

`recorded`, and the `recorded_training` and `recorded_sampling` each family's recording is made of,
are generators: they yield every snapshot after it is written, and whatever ends the loop (the end,
a stop, an error, the driver closing the generator) leaves the run file closed with the matching
status.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from gkn_core.errors import GKNError
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


def recorded_training(
    job: Any,
    writer: RunWriter,
    write: Callable[[SnapshotT], None],
    keep_last_good_weights: Callable[[BaseException], None],
    stopped_weights: Callable[[], None],
) -> Iterator[SnapshotT]:
    """A training job recorded into `writer`: a stopped run is still a model (to sample, analyse,
    resume from), so `stopped_weights()` keeps the weights it would have ended with."""

    def finish(status: str, reason: str) -> None:
        try:
            if status == "stopped" and job.steps_done > 0:
                stopped_weights()
        finally:
            writer.end(status, reason, section="train")

    return recorded(job, write, finish, keep_last_good_weights)


def recorded_sampling(
    job: Any, writer: RunWriter, write: Callable[[SnapshotT], None], end_sampling: Callable[[str, str], None]
) -> Iterator[SnapshotT]:
    """A sampling job recorded into the sampling group `writer` has opened."""

    def finish(status: str, reason: str) -> None:
        try:
            end_sampling(status, reason)
        finally:
            writer.end(status, reason)

    return recorded(job, write, finish)


def mark_failed(path: str | Path, reason: str) -> bool:
    """After the process writing a run died (killed, crashed): the file's status and that of every
    section still "running" (training, the samplings) become "failed" with `reason`. Only the state
    is written, nothing that was flushed is touched, and on a copy of the file renamed over it
    (gkn_core.runs.layout), after clearing the writer flags HDF5 left in it (runs.writer_flags).
    False when the file cannot be changed (then its readers see a writer that stopped writing, as
    after any kill)."""
    import h5py

    from gkn_core.runs.layout import put_in_place, read_state, side_copy, write_state
    from gkn_core.runs.writer_flags import clear_writer_flags

    path = Path(path)
    side = None
    try:
        side = side_copy(path)
        clear_writer_flags(side)
        with h5py.File(side, "r+") as f:
            sections = [f, *(f[name] for name in ("train",) if name in f)]
            sections += list(f.get("sampling", {}).values())
            for group in sections:
                if read_state(group, "status", "running") == "running":  # said only when it ends
                    write_state(group, status="failed", failure_reason=reason)
        put_in_place(side, path)
    except (OSError, KeyError, ValueError):
        if side is not None:
            side.unlink(missing_ok=True)
        return False
    return True
