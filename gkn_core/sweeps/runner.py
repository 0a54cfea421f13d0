"""Run a sweep into its folder: plan (validate every job), skip what is finished, run the rest on an
engine, and keep the records and the summary table up to date as each job ends."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gkn_core.sweeps.engines import default_workers, run_local, run_ray, run_serial
from gkn_core.sweeps.folder import (
    folder_lock,
    is_finished,
    pending_record,
    prepare_folder,
    read_record,
    write_record,
    write_summary,
)
from gkn_core.sweeps.jobs import JobResult
from gkn_core.sweeps.spec import SweepJob, SweepSpec, plan_jobs

Engine = Literal["local", "ray"]


@dataclass
class SweepOutcome:
    folder: Path
    total: int
    already_done: int = 0  # finished before this run: skipped
    completed: int = 0  # finished by this run
    failed: list[tuple[str, str]] = field(default_factory=list)  # (job, reason)
    stopped: int = 0
    not_started: int = 0

    @property
    def ran(self) -> int:
        return self.completed + len(self.failed) + self.stopped

    @property
    def finished(self) -> int:
        return self.already_done + self.completed


@dataclass
class SweepRun:
    """A planned sweep: the jobs, which of them are still to run, and the records so far."""

    spec: SweepSpec
    folder: Path
    jobs: list[SweepJob]
    todo: list[SweepJob]
    records: dict[str, dict[str, Any]]


def plan_sweep(spec: SweepSpec, folder: str | Path) -> tuple[list[SweepJob], Path]:
    """Validate every job (ConfigError on the first bad one) before anything is written."""
    return plan_jobs(spec), Path(folder)


def run_sweep(
    spec: SweepSpec,
    folder: str | Path,
    engine: Engine = "local",
    workers: int | None = None,
    address: str | None = None,
    gpus_per_job: float | None = None,
    working_dir: str | None = None,
    stop: threading.Event | None = None,
    on_plan: Callable[[SweepRun], None] | None = None,
    on_result: Callable[[SweepJob, dict[str, Any]], None] | None = None,
) -> SweepOutcome:
    """Run every unfinished job of `spec` into `folder` and return what happened.

    workers: local pool size (default: the CPUs this process may use; 0 runs the jobs one by one in
    this process). address: a Ray cluster (engine "ray"); without it Ray starts locally. stop: set
    it (e.g. on Ctrl+C) to stop after the running jobs' current step.
    """
    jobs, folder = plan_sweep(spec, folder)
    stop = stop or threading.Event()
    prepare_folder(folder, spec)
    with folder_lock(folder):
        records: dict[str, dict[str, Any]] = {}
        todo: list[SweepJob] = []
        for job in jobs:
            record = read_record(folder, job)
            if is_finished(folder, job, record):
                records[job.name] = record
            else:
                records[job.name] = record if record is not None else pending_record(job)
                todo.append(job)
        outcome = SweepOutcome(folder, len(jobs), already_done=len(jobs) - len(todo))
        write_summary(folder, spec, [records[j.name] for j in jobs])
        if on_plan is not None:
            on_plan(SweepRun(spec, folder, jobs, todo, records))

        def deliver(job: SweepJob, result: JobResult) -> None:
            records[job.name] = write_record(folder, job, result)
            write_summary(folder, spec, [records[j.name] for j in jobs])
            if result.status == "completed":
                outcome.completed += 1
            elif result.status == "stopped":
                outcome.stopped += 1
            else:
                outcome.failed.append((job.name, result.reason))
            if on_result is not None:
                on_result(job, records[job.name])

        if todo:
            workers = default_workers() if workers is None else workers
            if engine == "ray":
                run_ray(todo, folder, stop, deliver, address, workers or None, gpus_per_job, working_dir)
            elif workers == 0:
                run_serial(todo, folder, stop, deliver)
            else:
                run_local(todo, folder, workers, stop, deliver)
        outcome.not_started = len(todo) - outcome.ran
        return outcome
