"""One sweep job from settings to end metrics, with the same sessions the CLI and the app drive.

`execute_job` never raises for a job that goes wrong: a bad data file, a diverged training or a bug
come back as a failed JobResult with its reason, so one job cannot stop the others.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gkn_core.errors import GKNError
from gkn_core.families import load, sweep_kind
from gkn_core.job import SweepTask
from gkn_core.sweeps.spec import SweepJob, job_config

STOPPED_REASON = "stopped before the last step (rerun the sweep to finish it)"


@dataclass
class JobResult:
    name: str
    status: str  # completed, failed or stopped
    reason: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    elapsed: float = 0.0
    device: str = ""
    # Run files as bytes, when the job ran where the sweep folder is not (a Ray worker on another node).
    files: dict[str, bytes] = field(default_factory=dict)


class _Stopped(Exception):
    pass


def run_completed(path: Path) -> bool:
    """A job's run file counts as done when it opens and says `completed`."""
    from gkn_core.runs.reader import open_run

    if not path.is_file():
        return False
    try:
        with open_run(path) as run:
            return run.status == "completed"
    except GKNError:
        return False


def _driver(should_stop: Callable[[], bool]) -> Callable[..., None]:
    """Drive a (job, snapshots) pair of a session to its end, stopping it when `should_stop()`."""

    def drive(job: Any, snapshots: Any) -> None:
        for _ in snapshots:
            if should_stop():
                job.stop()
        if job.stop_requested:
            raise _Stopped

    return drive


def execute_job(
    job: SweepJob, folder: str | Path, should_stop: Callable[[], bool] | None = None
) -> JobResult:
    """Run one job into `folder` (its run file at folder/job.run_file) and measure its end metrics.

    A run file that is already complete is not trained again: only its metrics are measured.
    """
    should_stop = should_stop or (lambda: False)
    start = time.perf_counter()
    folder = Path(folder)
    try:
        run_path = None if job.run_file is None else folder / job.run_file
        if run_path is not None:
            run_path.parent.mkdir(parents=True, exist_ok=True)
        execute = load(sweep_kind(job.kind).execute)
        train = run_path is not None and not run_completed(run_path)
        task = SweepTask(job_config(job), job.metrics, job.measure, run_path, train, _driver(should_stop))
        metrics, device = execute(task)
        metrics = {name: float(metrics.get(name, math.nan)) for name in job.metrics}
        return JobResult(job.name, "completed", "", metrics, time.perf_counter() - start, device)
    except _Stopped:
        return JobResult(job.name, "stopped", STOPPED_REASON, elapsed=time.perf_counter() - start)
    except KeyboardInterrupt:
        return JobResult(job.name, "stopped", STOPPED_REASON, elapsed=time.perf_counter() - start)
    except GKNError as exc:
        return JobResult(job.name, "failed", str(exc), elapsed=time.perf_counter() - start)
    except Exception as exc:  # a bug or an environment problem: reported in the table, the sweep goes on
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return JobResult(job.name, "failed", reason, elapsed=time.perf_counter() - start)


# -- process-pool workers --------------------------------------------------------------------------
_stop_event: Any = None


def init_worker(stop_event: Any, threads: int) -> None:
    """A pool worker: small nets run best on one thread, and Ctrl+C reaches the sweep, not the worker
    (the sweep then sets `stop_event`, and running jobs stop after their step)."""
    import signal

    import torch

    global _stop_event
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(threads)
    _stop_event = stop_event


def execute_in_worker(job: SweepJob, folder: str) -> JobResult | None:
    """None when the sweep was stopped before this job began (the pool had queued it already)."""
    stop = _stop_event
    if stop is not None and stop.is_set():
        return None
    return execute_job(job, folder, (lambda: stop.is_set()) if stop is not None else None)


def execute_returning_files(job: SweepJob, threads: int = 1) -> JobResult:
    """Run a job in a scratch folder and hand its run file back as bytes (a Ray task on any node:
    the driver writes it into the sweep folder, so the cluster needs no shared filesystem)."""
    import tempfile

    import torch

    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory(prefix="gkn-sweep-") as scratch:
        result = execute_job(job, scratch)
        if job.run_file is not None and result.status == "completed":
            result.files[job.run_file] = (Path(scratch) / job.run_file).read_bytes()
    return result
