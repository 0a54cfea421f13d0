"""The compute process, seen from the window: it owns the jobs and their torch models, so that nothing
the GUI thread does (drawing, layout, the X server) takes time from them, whatever the GIL does.

One `ComputeProcess` per lab, started on its first job (app/compute_child.py is its side). It is forked
by multiprocessing's forkserver, a clean process that has imported torch and the jobs' modules once
(app/compute_preload.py), never by the window's process with its Qt and torch threads; so a compute
process costs a window its torch import once, not once per lab or per restart ("spawn" where there
is no forkserver). Snapshots come back on a pipe that a
QSocketNotifier watches, so the GUI thread reads them when they are there and never waits for them; a
reader that has had its share of time (DRAIN_BUDGET_S) leaves the rest for the next turn of the event
loop. Control (pause, resume, step, stop) and requests (a function of the model, answered with its
result) go the other way on a queue whose feeder thread never blocks the GUI thread either.

A compute process that dies (a segfault, the out-of-memory killer, SIGKILL) ends every job it had as
failed, with one reason ("the compute process was killed (SIGKILL)"); the window says so in one dialog
line, marks the runs failed in their files and goes on working (the next job starts a new process).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QObject, QSocketNotifier, pyqtSignal

from app import compute_child
from gkn_core.job import ControlFlags
from gkn_core.runs.recording import mark_failed

DRAIN_BUDGET_S = 0.008  # the longest the GUI thread reads events in one go
_PROCESSES: weakref.WeakSet[ComputeProcess] = weakref.WeakSet()
_KEYS = itertools.count(1)


def compute_threads() -> int:
    """Torch threads of the compute process: every core but one, which the window keeps."""
    return max(1, (os.cpu_count() or 2) - 1)


def start_context() -> multiprocessing.context.BaseContext:
    """The forkserver (preloaded with app/compute_preload.py) where there is one, else spawn."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["app.compute_preload"])  # read when the forkserver starts
    return context


def environment() -> tuple[dict[str, str], str]:
    """What a compute process takes from the window as it is now (the forkserver's is older)."""
    return {k: v for k, v in os.environ.items() if k.startswith("GKN_")}, os.getcwd()


def running_processes() -> list[multiprocessing.process.BaseProcess]:
    """Compute processes still alive: none once every window has closed."""
    return [c.process for c in list(_PROCESSES) if c.process.is_alive()]


def death_reason(exitcode: int | None) -> str:
    if exitcode is None:
        return "the compute process stopped answering"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        what = {"SIGKILL": "was killed (SIGKILL; out of memory?)", "SIGSEGV": "crashed (segmentation fault)"}
        return f"the compute process {what.get(name, f'died ({name})')}"
    return f"the compute process exited with status {exitcode}"


class ComputeProcess(QObject):
    died = pyqtSignal(str)  # the one reason every job it had ends with

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        context = start_context()
        self.commands = context.Queue()
        self.events, writer = context.Pipe(duplex=False)
        self.process = context.Process(
            target=compute_child.serve,
            args=(self.commands, writer, compute_threads(), environment()),
            name="gkn-compute",
            daemon=True,  # never outlives the window's process
        )
        self.process.start()
        writer.close()  # the child holds the only writing end: its death reads as the end of the pipe
        self.alive = True
        self.ready = False  # the child has imported torch and the jobs' modules
        self.handlers: dict[int, Callable[[tuple], None]] = {0: self._on_ready}
        self.notifier = QSocketNotifier(self.events.fileno(), QSocketNotifier.Type.Read, self)
        self.notifier.activated.connect(self.drain)
        _PROCESSES.add(self)

    def _on_ready(self, _: tuple) -> None:
        self.ready = True

    def send(self, message: tuple) -> bool:
        if not self.alive:
            return False
        self.commands.put(message)
        return True

    def drain(self, *_: Any, budget_s: float = DRAIN_BUDGET_S) -> None:
        """Hand every waiting event to its handler (for at most budget_s; the notifier calls again)."""
        if not self.alive:
            return
        deadline = time.perf_counter() + budget_s
        try:
            while self.events.poll():
                message = self.events.recv()
                handler = self.handlers.get(message[1])
                if handler is not None:
                    handler(message)
                if time.perf_counter() > deadline:
                    break
        except (EOFError, OSError):
            self._on_death()

    def _on_death(self) -> None:
        if not self.alive:
            return
        self.alive = False
        self.notifier.setEnabled(False)
        self.process.join(5.0)
        reason = death_reason(self.process.exitcode)
        self._close_ends()
        self.died.emit(reason)

    def wait_until(self, done: Callable[[], bool], deadline: float) -> bool:
        """Read events (blocking, for closing) until done() or time.monotonic() passes deadline."""
        while not done():
            if not self.alive:
                return done()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                ready = self.events.poll(min(remaining, 0.05))
            except (EOFError, OSError):
                ready = True
            if ready:
                self.drain(budget_s=remaining)
        return True

    def shutdown(self, deadline: float) -> bool:
        """Ask the child to end (its jobs stopped at their next step) and wait; kill it past deadline."""
        ended = True
        if self.alive:
            self.commands.put(("shutdown",))
            self.wait_until(lambda: False, deadline)  # reads the last events up to the end of the pipe
        self.process.join(max(0.0, deadline - time.monotonic()))
        if self.process.is_alive():
            ended = False
            self.process.kill()
            self.process.join(5.0)
        self.alive = False
        self.notifier.setEnabled(False)
        self._close_ends()
        return ended

    def _close_ends(self) -> None:
        self.commands.close()
        self.commands.join_thread()
        self.events.close()


class RemoteJob(ControlFlags):
    """The window's handle on a job in the compute process: its controls and what it reported."""

    def __init__(self, owner: ProcessJobThread, known: dict[str, Any]) -> None:
        self._owner = owner
        self.steps_done = 0
        self.total_steps = 0
        self._paused = False
        self._stop_requested = False
        self._waiting = False  # blocked in its pause, at steps_done (the child said so)
        self.result: Any = None  # what the job handed back when it ended (a recording)
        for name, value in known.items():
            setattr(self, name, value)

    def pause(self) -> None:
        self._paused = True
        self._owner.control("pause")

    def resume(self) -> None:
        self._paused, self._waiting = False, False
        self._owner.control("resume")

    def stop(self) -> None:
        self._stop_requested, self._waiting = True, False
        self._owner.control("stop")

    def advance_one(self) -> None:
        self._waiting = False
        self._owner.control("advance_one")

    def waiting_at(self, steps_done: int) -> None:
        """The child said the job blocks in its pause after steps_done steps."""
        self.steps_done, self._waiting = steps_done, True

    def recording(self) -> Any:
        return self.result


class _Pace:
    """JobThread.worker's two settings, forwarded to the child."""

    def __init__(self, owner: ProcessJobThread) -> None:
        self._owner = owner

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("steps_per_frame", "deliver_every"):
            self._owner.control(name, value)
        object.__setattr__(self, name, value)


class _InChild:
    def __init__(self, owner: ProcessJobThread) -> None:
        self._owner = owner

    def isRunning(self) -> bool:  # QThread's name: callers need not ask which they hold
        return not self._owner.finished


class ProcessJobThread(QObject):
    """A job in the compute process, with JobThread's signals and controls (app/worker.py)."""

    delivered = pyqtSignal(object)
    ended = pyqtSignal(str, str)
    started_info = pyqtSignal(dict)

    def __init__(
        self,
        compute: ComputeProcess,
        start: tuple[Callable[..., Any], tuple, dict],
        known: dict[str, Any] | None = None,
        run_file: Path | None = None,
        deliver_every: float = 0.1,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.compute = compute
        self.key = next(_KEYS)
        self.start_message = start
        self.run_file = run_file  # marked failed here if the process dies under the job
        self.job = RemoteJob(self, known or {})
        self.thread = _InChild(self)  # no QThread: what stands for one says whether the job runs
        self.finished = False
        self.died = False  # it ended because the compute process died
        self.deliver_every = deliver_every
        self.worker = _Pace(self)
        compute.handlers[self.key] = self._on_event

    def control(self, op: str, value: Any = None) -> None:
        if not self.finished:
            self.compute.send(("control", self.key, op, value))

    def start(self) -> None:
        factory, args, kwargs = self.start_message
        paused = self.job.is_paused
        self.compute.send(("start", self.key, factory, args, kwargs, paused, self.deliver_every, 0))

    def _on_event(self, message: tuple) -> None:
        what = message[0]
        if what == "batch":
            self.job.steps_done = message[3]
            self.delivered.emit(message[2])
        elif what == "waiting":
            self.job.waiting_at(message[2])
        elif what == "started":
            for name, value in message[2].items():
                setattr(self.job, name, value)
            self.started_info.emit(message[2])
        elif what == "ended":
            self.job.result = message[4]
            self.job.steps_done = message[5]  # the step it stopped at, after its last batch
            self._end(message[2], message[3])

    def _end(self, status: str, reason: str) -> None:
        if self.finished:
            return
        self.finished = True
        self.compute.handlers.pop(self.key, None)
        self.ended.emit(status, reason)

    def on_death(self, reason: str) -> None:
        if self.finished:
            return
        self.died = True
        if self.run_file is not None:
            mark_failed(self.run_file, reason)
        self._end("failed", reason)

    def stop(self, wait_ms: int = 0) -> bool:
        """Ask the job to stop at its next step boundary; the child makes a job started after this one
        wait until this one has closed its run file, so the window need not wait here."""
        self.job.stop()
        return self.finished
