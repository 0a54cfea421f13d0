"""The compute process's side (no Qt here): it owns the jobs and their torch models, drives each job in
a thread of its own, and sends the snapshots back to the window in batches.

The window (app/compute.py) starts this module's `serve` in a process of the "spawn" context, so the
child shares nothing with the window's Qt and torch threads. Commands come in on a multiprocessing
queue, events go out on a pipe, through one sender thread (a job never waits for the window):

    commands   ("start", id, factory, args, kwargs, paused, deliver_every, steps_per_frame)
               ("control", id, op, value)    op: pause, resume, stop, advance_one, steps_per_frame,
                                                 deliver_every
               ("call", id, fn, args, kwargs)    a one-shot function; its result is the reply
               ("shutdown",)                     stop every job, wait for them, exit
    events     ("started", id, info)  ("batch", id, snapshots, steps_done)  ("waiting", id, steps_done)
               ("ended", id, status, reason, result, steps_done)  ("reply", id, ok, value)

The end carries the step the job stopped at, sent after its last batch: the window, the run file and
the last snapshot then agree on it.

A job factory returns a Job (driven as `iter(job)`), or (job, snapshots) or (job, snapshots, info):
snapshots is the recorded generator of a session (the job writes its run file here, in the child),
info a dict of plain values the window wants before the first batch. The job contract of
gkn_core/job.py is kept (the child only sets a job's on_wait hook, to say when a pause has taken
hold): the CLI and the sweeps drive the same jobs in their own way.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

FRAME_S = 1 / 30  # slow motion: at most steps_per_frame steps per frame


def error_line(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def job_result(job: Any) -> Any:
    """What an ended job hands back besides its snapshots (a trajectory set's recording)."""
    recording = getattr(job, "recording", None)
    if callable(recording) and getattr(job, "steps_done", 0) > 0:
        try:
            return recording()
        except Exception:
            return None
    return None


class Driven:
    """One job in a thread of the child, driven as app/worker.py's JobWorker drives one in the window."""

    def __init__(self, key: int, send: Callable[[tuple], None]) -> None:
        self.key = key
        self.send = send
        self.job: Any = None
        self.pending: list[tuple[str, Any]] = []  # controls that came before the job was made
        self.lock = threading.Lock()
        self.deliver_every = 0.1
        self.steps_per_frame = 0
        self.stop_asked = False
        self.thread: threading.Thread | None = None
        self.batch: list = []  # snapshots not sent yet (touched by the job's thread only)

    def control(self, op: str, value: Any = None) -> None:
        if op == "steps_per_frame":
            self.steps_per_frame = int(value)
            return
        if op == "deliver_every":
            self.deliver_every = float(value)
            return
        if op == "stop":
            self.stop_asked = True
        with self.lock:
            if self.job is None:
                self.pending.append((op, value))
                return
        getattr(self.job, op)()

    def run(self, factory: Callable[..., Any], args: tuple, kwargs: dict, paused: bool, before: list) -> None:
        for thread in before:  # replaced jobs close their run files before a new job opens one
            thread.join()
        status, reason = "failed", "the job ended unexpectedly"
        job = None
        steps_done = 0
        try:
            made = factory(*args, **kwargs)
            job, snapshots, info = self._parts(made)
            if paused:
                job.pause()
            with self.lock:
                self.job = job
                pending, self.pending = self.pending, []
            for op, _ in pending:
                getattr(job, op)()
            self.send(("started", self.key, info))
            status, reason = self._drive(job, snapshots)
        except Exception as exc:  # the run file (when there is one) records it; the window shows it
            status, reason = "failed", error_line(exc)
        finally:
            result = job_result(job) if job is not None else None
            if job is not None:
                steps_done = int(getattr(job, "steps_done", 0))
            self.send(("ended", self.key, status, reason, result, steps_done))

    @staticmethod
    def _parts(made: Any) -> tuple[Any, Iterator, dict]:
        if isinstance(made, tuple):
            job, snapshots = made[0], made[1]
            info = made[2] if len(made) > 2 else {}
        else:
            job, snapshots, info = made, iter(made), {}
        return job, snapshots, dict(info)

    def _flush(self, job: Any) -> None:
        if self.batch:
            self.send(("batch", self.key, self.batch, job.steps_done))
            self.batch = []

    def _on_wait(self, job: Any) -> None:
        """The job blocks in its pause (in this thread): what it did goes now, then that it waits."""
        self._flush(job)
        self.send(("waiting", self.key, job.steps_done))

    def _drive(self, job: Any, snapshots: Iterator) -> tuple[str, str]:
        self.batch = []
        last = time.monotonic()
        frame_start, frame_steps = last, 0
        job.on_wait = lambda: self._on_wait(job)
        try:
            for snapshot in snapshots:
                self.batch.append(snapshot)
                now = time.monotonic()
                if now - last >= self.deliver_every or job.is_paused:
                    self._flush(job)
                    last = now
                frame_steps += 1
                if self.steps_per_frame and frame_steps >= self.steps_per_frame:
                    time.sleep(max(0.0, frame_start + FRAME_S - time.monotonic()))
                    frame_start, frame_steps = time.monotonic(), 0
        finally:
            job.on_wait = None
            self._flush(job)
        if job.stop_requested:
            return "stopped", "stopped before the last step"
        return "completed", ""


JOBS: dict[int, Driven] = {}  # the jobs this process drives, by the window's key


def live_jobs() -> list[Any]:
    """The jobs this process drives now: what a request can reach (the tests inject faults so)."""
    driven = [d for d in list(JOBS.values()) if d.thread is not None and d.thread.is_alive()]
    return [d.job for d in driven if d.job is not None]


def stopping(jobs: dict[int, Driven]) -> list[threading.Thread]:
    return [d.thread for d in jobs.values() if d.stop_asked and d.thread is not None]


def take_environment(environment: dict[str, str], cwd: str) -> None:
    """The window's GKN_* settings and folder as they are now: a process forked by the forkserver
    has the ones of when the forkserver started."""
    for name in [n for n in os.environ if n.startswith("GKN_") and n not in environment]:
        del os.environ[name]
    os.environ.update(environment)
    os.chdir(cwd)


def serve(
    commands: Any,
    events: Any,
    torch_threads: int,
    environment: tuple[dict[str, str], str] | None = None,
) -> None:
    """The child's main loop: run until "shutdown" (or until the window's end of the queue is gone).
    It imports torch and the job modules first (at once when the forkserver has: app/compute_preload.py),
    warms torch up and says ("ready", 0), so that a first job starts at once."""
    if environment is not None:
        take_environment(*environment)
    os.environ.setdefault("OMP_NUM_THREADS", str(torch_threads))
    import importlib

    import torch

    torch.set_num_threads(torch_threads)
    compute_jobs = importlib.import_module("app.compute_jobs")
    for name in compute_jobs.job_modules():
        importlib.import_module(name)
    compute_jobs.warm_up()
    outbox: queue.Queue = queue.Queue()
    outbox.put(("ready", 0))

    def sender() -> None:
        while True:
            message = outbox.get()
            if message is None:
                return
            try:
                events.send(message)
            except (OSError, ValueError):  # the window is gone
                return

    sending = threading.Thread(target=sender, name="compute-sender", daemon=True)
    sending.start()
    jobs = JOBS
    calls: list[threading.Thread] = []

    def call(key: int, fn: Callable[..., Any], args: tuple, kwargs: dict, before: list) -> None:
        for thread in before:  # a stopped job closes its run file before a function reads or writes it
            thread.join()
        try:
            outbox.put(("reply", key, True, fn(*args, **kwargs)))
        except Exception as exc:  # one line in a dialog
            outbox.put(("reply", key, False, error_line(exc)))

    try:
        while True:
            try:
                message = commands.get()
            except (EOFError, OSError):
                break
            what = message[0]
            if what == "shutdown":
                break
            if what == "start":
                _, key, factory, args, kwargs, paused, deliver_every, steps_per_frame = message
                driven = Driven(key, outbox.put)
                driven.deliver_every, driven.steps_per_frame = deliver_every, steps_per_frame
                before = stopping(jobs)
                driven.thread = threading.Thread(
                    target=driven.run, args=(factory, args, kwargs, paused, before), daemon=True
                )
                jobs[key] = driven
                driven.thread.start()
            elif what == "control":
                _, key, op, value = message
                if key in jobs:
                    jobs[key].control(op, value)
            elif what == "call":
                _, key, fn, args, kwargs = message
                work = (key, fn, args, kwargs, stopping(jobs))
                thread = threading.Thread(target=call, args=work, daemon=True)
                calls.append(thread)
                thread.start()
            for key in [k for k, d in jobs.items() if d.thread is not None and not d.thread.is_alive()]:
                del jobs[key]
            calls = [t for t in calls if t.is_alive()]
    finally:
        for driven in jobs.values():
            driven.control("stop")
        for driven in jobs.values():
            if driven.thread is not None:
                driven.thread.join()
        for thread in calls:
            thread.join()
        outbox.put(None)
        sending.join()
