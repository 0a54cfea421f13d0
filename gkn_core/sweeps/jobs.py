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


def _drive(job: Any, snapshots: Any, should_stop: Callable[[], bool]) -> None:
    for _ in snapshots:
        if should_stop():
            job.stop()
    if job.stop_requested:
        raise _Stopped


def _gkn(job: SweepJob, run_path: Path, should_stop: Callable[[], bool]) -> tuple[dict, str]:
    from gkn_core.device import resolve_device
    from gkn_core.gkn.sessions import sampling_session, training_session
    from gkn_core.runs.reader import open_run

    config = job_config(job)
    if not run_completed(run_path):
        _drive(*training_session(config, run_path, overwrite=True), should_stop)
        if "sample_distance" in job.metrics:
            _drive(*sampling_session(run_path), should_stop)
    device = resolve_device(config.device)
    from gkn_core.sweeps.metrics import gkn_metrics

    with open_run(run_path) as run:
        return gkn_metrics(run, job.metrics, job.measure, device), str(run.info.get("device", ""))


def _chaos(job: SweepJob, run_path: Path, should_stop: Callable[[], bool]) -> tuple[dict, str]:
    from gkn_core.chaos.sessions import chaos_training_session
    from gkn_core.device import resolve_device
    from gkn_core.runs.reader import open_run
    from gkn_core.sweeps.metrics import chaos_metrics

    config = job_config(job)
    if not run_completed(run_path):
        _drive(*chaos_training_session(config, run_path, overwrite=True), should_stop)
    with open_run(run_path) as run:
        return chaos_metrics(run, job.metrics, resolve_device(config.device)), str(run.info.get("device", ""))


def _lyapunov(job: SweepJob) -> tuple[dict, str]:
    from gkn_core.device import describe_device, resolve_device
    from gkn_core.sweeps.metrics import lyapunov_metrics

    config = job_config(job)
    device = resolve_device(config.device)
    return lyapunov_metrics(config, job.metrics, device), describe_device(device)


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
        if job.kind == "lyapunov":
            metrics, device = _lyapunov(job)
        else:
            run_path = folder / job.run_file
            run_path.parent.mkdir(parents=True, exist_ok=True)
            run = _gkn if job.kind == "gkn" else _chaos
            metrics, device = run(job, run_path, should_stop)
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
