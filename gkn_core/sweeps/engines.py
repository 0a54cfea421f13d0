"""Where sweep jobs run: in this process, in a local process pool, or as Ray tasks.

Every engine calls `deliver(job, result)` in the calling thread as each job ends, and watches
`stop`: once it is set, jobs not started are dropped and running ones stop after their current
step (their run files close with status `stopped`; a rerun finishes them).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from gkn_core.errors import GKNError
from gkn_core.sweeps.jobs import (
    JobResult,
    execute_in_worker,
    execute_job,
    execute_returning_files,
    init_worker,
)
from gkn_core.sweeps.spec import SweepJob

Deliver = Callable[[SweepJob, JobResult], None]
POLL_S = 0.2
RAY_MISSING = "the ray engine needs Ray: install the cluster extra: pip install '.[cluster]'"


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def run_serial(jobs: list[SweepJob], folder: Path, stop: threading.Event, deliver: Deliver) -> None:
    """One job after the other in this process (`--workers 0`: for debugging, and for tests)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the pool's workers: the same numbers, and no OpenMP stalls
    try:
        for job in jobs:
            if stop.is_set():
                return
            deliver(job, execute_job(job, folder, stop.is_set))
    finally:
        torch.set_num_threads(threads)


def run_local(
    jobs: list[SweepJob], folder: Path, workers: int, stop: threading.Event, deliver: Deliver
) -> None:
    """A pool of `workers` processes. They are spawned, not forked: forking a process that has
    started torch's threads can deadlock the child."""
    context = multiprocessing.get_context("spawn")
    worker_stop = context.Event()
    pool = ProcessPoolExecutor(
        max_workers=max(1, min(workers, len(jobs))),
        mp_context=context,
        initializer=init_worker,
        initargs=(worker_stop, 1),
    )
    futures = {pool.submit(execute_in_worker, job, str(folder)): job for job in jobs}
    pending = set(futures)
    try:
        while pending:
            done, pending = wait(pending, timeout=POLL_S, return_when=FIRST_COMPLETED)
            for future in done:
                if future.cancelled():
                    continue
                job = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # the worker process died (killed, out of memory ...)
                    reason = f"the worker process died ({type(exc).__name__}: {exc})".splitlines()[0]
                    result = JobResult(job.name, "failed", reason)
                if result is not None:  # None: stopped before it began, so still to run
                    deliver(job, result)
            if stop.is_set() and not worker_stop.is_set():
                worker_stop.set()
                for future in pending:
                    future.cancel()
    except BaseException:
        worker_stop.set()
        for future in pending:
            future.cancel()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _ray_module() -> Any:
    try:
        import ray
    except ImportError:
        raise GKNError(RAY_MISSING) from None
    return ray


def run_ray(
    jobs: list[SweepJob],
    folder: Path,
    stop: threading.Event,
    deliver: Deliver,
    address: str | None = None,
    workers: int | None = None,
    gpus_per_job: float | None = None,
    working_dir: str | None = None,
) -> None:
    """One Ray task per job. Each task runs in a scratch folder on its node and returns its run file
    as bytes, which this process writes into the sweep folder: the cluster needs no shared disk.

    Without `address` (and without a Ray already started in this process) a local Ray instance is
    started for the sweep and shut down after it.
    """
    ray = _ray_module()
    runtime_env = None
    if working_dir is not None:
        # Ships the project (code, presets, assets) to every node; the nodes need the dependencies.
        runtime_env = {"working_dir": working_dir, "excludes": [".git", ".venv", "runs", "*.h5"]}
    started_here = False
    if not ray.is_initialized():
        try:
            if address:
                ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)
            else:
                ray.init(
                    num_cpus=workers or default_workers(),
                    include_dashboard=False,
                    runtime_env=runtime_env,
                    log_to_driver=False,
                )
        except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
            where = f"the Ray cluster at {address}" if address else "a local Ray instance"
            hint = " (a cluster with token authentication also needs RAY_AUTH_MODE=token here)"
            raise GKNError(
                f"cannot start or reach {where}: {str(exc).splitlines()[0]}{hint if address else ''}"
            ) from None
        started_here = True
    try:
        if gpus_per_job is None:
            gpus_per_job = 1.0 if ray.cluster_resources().get("GPU", 0) >= 1 else 0.0
        task = ray.remote(num_cpus=1, num_gpus=gpus_per_job, max_retries=0)(execute_returning_files)
        refs = {task.remote(job): job for job in jobs}
        pending = list(refs)
        cancelled = False
        while pending:
            ready, pending = ray.wait(pending, num_returns=1, timeout=POLL_S)
            for ref in ready:
                job = refs[ref]
                try:
                    result = ray.get(ref)
                except ray.exceptions.TaskCancelledError:
                    continue  # dropped before it started: still pending for the next run
                except ray.exceptions.RayError as exc:  # the task or its worker died
                    result = JobResult(job.name, "failed", f"Ray: {str(exc).strip().splitlines()[0]}")
                deliver(job, result)
            if stop.is_set() and not cancelled:
                cancelled = True
                for ref in pending:
                    ray.cancel(ref)  # a running task gets KeyboardInterrupt and closes its run
    finally:
        if started_here:
            ray.shutdown()
