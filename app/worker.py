"""Compute threads: a worker owns a job (and its torch model) and hands snapshots to the GUI.

The worker never waits for the GUI: it collects snapshots and emits them in batches at most every
`deliver_every` seconds through a queued signal. The GUI never waits for the worker: it keeps the
batches and redraws on its own timer. Control goes through the job's thread-safe pause/resume/stop.

Step-by-step jobs (training, sampling, trajectories, Lyapunov analyses) run in a `JobThread`; one-shot
functions (basins, writing a recording) run as superqt `FunctionWorker`s. Each lab keeps every thread
it started in one `Workers`, and closing waits for all of them in one way, under CLOSE_TIMEOUT_S.

By default the jobs (and the one-shot functions of the model, `Workers.request`) run in a compute
process (app/compute.py), behind the same JobThread interface: the GUI thread's drawing then takes
nothing from them; GKN_COMPUTE=thread runs them in QThreads here, as before. The threads stay for
what is not a job of the model: writing an animation's frames, which are drawn by the GUI, and any
function passed as a closure (`Workers.call`).

Why not superqt's GeneratorWorker for the jobs: it emits one queued signal per yielded snapshot
(thousands a second, each a slice of GUI time holding the GIL away from training), so batching would
need a wrapping generator anyway; its pause and quit are polled between yields, while our jobs pause,
single-step and stop inside their own iterator (Job.pause/advance_one/stop, thread-safe), which a
GeneratorWorker would never see while the job waits; and a QThread per job can be waited for, so a
restarted job knows the old one has closed its run file before the new one opens it for writing.
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from PyQt6 import sip
from PyQt6.QtCore import QObject, QThread, QThreadPool, pyqtSignal, pyqtSlot
from superqt.utils import FunctionWorker

from app.compute import _KEYS, ComputeProcess, ProcessJobThread, running_processes
from gkn_core.job import Job

LIVE_DELIVERY_S = 1 / 30  # snapshots reach the window thirty times a second ...
TRAIN_DELIVERY_S = 0.1  # ... training snapshots ten times a second (less GUI work holding the GIL)
STEP_WAIT_MS = 1000  # a replaced job gets this long to end its step; a longer one ends by itself
CLOSE_TIMEOUT_S = 30.0  # the one limit on closing: every job and function of a window ends within it
# (a Lyapunov spectrum is one job step and can take seconds; it is never cut off, only waited for)

_THREADS: weakref.WeakSet[QThread] = weakref.WeakSet()
_JOB_THREADS: weakref.WeakSet[JobThread] = weakref.WeakSet()
_POOLS: weakref.WeakSet[QThreadPool] = weakref.WeakSet()
_COMPUTES: weakref.WeakSet[ComputeProcess] = weakref.WeakSet()


def compute_in_process() -> bool:
    """The switch: the labs' jobs run in a compute process (the default); GKN_COMPUTE=thread runs
    them in QThreads of the window's process (to debug a job in the window's own debugger)."""
    return os.environ.get("GKN_COMPUTE", "process").strip().lower() != "thread"


def running_threads() -> list[object]:
    """Compute threads, pools with a function running and compute processes still alive: none once
    a window has closed."""
    threads: list[object] = [thread for thread in _THREADS if thread.isRunning()]
    pools = [pool for pool in _POOLS if not sip.isdeleted(pool) and pool.activeThreadCount() > 0]
    return threads + pools + running_processes()


def stop_running(timeout_s: float = CLOSE_TIMEOUT_S) -> None:
    """Stop every job at its next step boundary and wait for every thread and pool (a last resort:
    a running QThread must never be destroyed, Qt aborts the process then)."""
    for job_thread in list(_JOB_THREADS):
        job_thread.job.stop()
    for thread in list(_THREADS):
        thread.wait(int(timeout_s * 1000))
    for pool in list(_POOLS):
        if not sip.isdeleted(pool):
            pool.waitForDone(int(timeout_s * 1000))
    for compute in list(_COMPUTES):
        compute.shutdown(time.monotonic() + timeout_s)


def error_line(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class JobWorker(QObject):
    delivered = pyqtSignal(object)  # list of snapshots since the last delivery
    ended = pyqtSignal(str, str)  # status, reason

    def __init__(self, job: Job, snapshots: Iterator, deliver_every: float = LIVE_DELIVERY_S) -> None:
        super().__init__()
        self.job = job
        self.snapshots = snapshots
        self.deliver_every = deliver_every
        self.steps_per_frame = 0  # 0: as fast as possible; n: at most n steps per 1/30 s

    @pyqtSlot()
    def run(self) -> None:
        batch: list = []
        last = time.monotonic()
        frame_start, frame_steps = last, 0
        status, reason = "completed", ""
        try:
            for snapshot in self.snapshots:
                batch.append(snapshot)
                now = time.monotonic()
                # Single steps through a pause are delivered at once: the next one may never come.
                if now - last >= self.deliver_every or self.job.is_paused:
                    self.delivered.emit(batch)
                    batch, last = [], now
                frame_steps += 1
                if self.steps_per_frame and frame_steps >= self.steps_per_frame:
                    time.sleep(max(0.0, frame_start + 1 / 30 - time.monotonic()))
                    frame_start, frame_steps = time.monotonic(), 0
            if self.job.stop_requested:
                status, reason = "stopped", "stopped before the last step"
        except Exception as exc:  # the run file already records it; the window shows it
            status, reason = "failed", error_line(exc)
        finally:
            if batch:
                self.delivered.emit(batch)
            self.ended.emit(status, reason)
            QThread.currentThread().quit()  # end the thread's event loop now, not when the GUI gets to it


class JobThread(QObject):
    """One job in its own QThread, with the controls the window needs."""

    delivered = pyqtSignal(object)
    ended = pyqtSignal(str, str)

    def __init__(self, job: Job, snapshots: Iterator, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.job = job
        self.thread = QThread()
        _THREADS.add(self.thread)
        _JOB_THREADS.add(self)
        self.worker = JobWorker(job, snapshots)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.delivered.connect(self.delivered)
        self.worker.ended.connect(self._on_ended)
        self.finished = False

    def start(self) -> None:
        self.thread.start()

    def _on_ended(self, status: str, reason: str) -> None:
        self.finished = True
        self.thread.quit()
        self.ended.emit(status, reason)

    def stop(self, wait_ms: int = STEP_WAIT_MS) -> bool:
        """Stop at the next step boundary and wait for the thread; True when it has ended."""
        self.job.stop()
        ended = self.thread.wait(max(0, wait_ms)) if self.thread.isRunning() else True
        self.finished = self.finished or ended
        return ended


class Workers(QObject):
    """Every thread one lab started: its job threads and its one-shot functions (superqt workers in a
    pool of the lab's own, so that waiting for them waits for nobody else's); with the switch on, its
    compute process and the jobs and requests in it."""

    died = pyqtSignal(str)  # its compute process died: every job in it ended as failed, this reason

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        _POOLS.add(self.pool)
        self.jobs: list[JobThread | ProcessJobThread] = []
        self._functions: set[FunctionWorker] = set()  # kept alive until they have finished
        self.compute: ComputeProcess | None = None
        self._requests: dict[int, ComputeProcess] = {}  # requests not yet answered

    def job(self, job: Job, snapshots: Iterator) -> JobThread:
        """A job thread, not started yet; replaced ones stay listed until they have ended."""
        self.jobs = self._live()
        thread = JobThread(job, snapshots, self)
        self.jobs.append(thread)
        return thread

    def compute_process(self) -> ComputeProcess:
        """The lab's compute process, started on first use (and again after one died)."""
        if self.compute is None or not self.compute.alive:
            self.compute = ComputeProcess(self)
            _COMPUTES.add(self.compute)
            self.compute.died.connect(lambda reason, c=self.compute: self._on_death(c, reason))
        return self.compute

    def remote_job(
        self,
        factory: Callable[..., Any],
        args: tuple,
        known: dict[str, Any] | None = None,
        run_file: Any = None,
        deliver_every: float = LIVE_DELIVERY_S,
    ) -> ProcessJobThread:
        """A job the compute process makes with factory(*args) and drives; not started yet."""
        self.jobs = self._live()
        compute = self.compute_process()
        thread = ProcessJobThread(compute, (factory, args, {}), known, run_file, deliver_every, self)
        self.jobs.append(thread)
        return thread

    def _on_death(self, compute: ComputeProcess, reason: str) -> None:
        for thread in list(self.jobs):
            if isinstance(thread, ProcessJobThread) and thread.compute is compute:
                thread.on_death(reason)
        for key in [k for k, c in self._requests.items() if c is compute]:
            del self._requests[key]  # its answer never comes; the one dialog line says why
        self.died.emit(reason)

    def call(self, fn: Callable[[], Any], done: Callable[[Any], None], failed: Callable[[str], None]) -> None:
        """Run fn off the GUI thread; its result (or its error as one line) comes back in the GUI thread."""
        worker = FunctionWorker(fn)
        worker.returned.connect(done)
        worker.errored.connect(lambda exc: failed(error_line(exc)))
        worker.finished.connect(lambda w=worker: self._functions.discard(w))
        self._functions.add(worker)
        self.pool.start(worker)

    def request(
        self,
        fn: Callable[..., Any],
        args: tuple,
        done: Callable[[Any], None],
        failed: Callable[[str], None],
    ) -> None:
        """fn(*args), a module-level function of the model: in the compute process when the switch is
        on (its reply comes back in the GUI thread), else in a thread like `call`."""
        if not compute_in_process():
            self.call(lambda: fn(*args), done, failed)
            return
        compute = self.compute_process()
        key = next(_KEYS)

        def on_reply(message: tuple) -> None:
            compute.handlers.pop(key, None)
            if self._requests.pop(key, None) is not None:
                (done if message[2] else failed)(message[3])

        compute.handlers[key] = on_reply
        self._requests[key] = compute
        compute.send(("call", key, fn, args, {}))

    @property
    def busy(self) -> bool:
        """A function still running, or its result not yet handed over."""
        return bool(self._functions) or bool(self._requests)

    def _live(self) -> list[JobThread | ProcessJobThread]:
        return [t for t in self.jobs if not t.finished or (t.thread is not None and t.thread.isRunning())]

    def request_stop(self) -> None:
        for thread in self._live():
            thread.job.stop()

    def wait(self, deadline: float) -> bool:
        """Wait (until time.monotonic() reaches deadline) for every job and function; True when all ended."""
        ended = True
        for thread in self._live():
            if isinstance(thread, JobThread):
                ended = thread.stop(int(1000 * (deadline - time.monotonic()))) and ended
        if self.compute is not None:
            compute = self.compute
            remote = [t for t in self.jobs if isinstance(t, ProcessJobThread)]
            ended = (
                compute.wait_until(
                    lambda: all(t.finished for t in remote) and compute not in self._requests.values(),
                    deadline,
                )
                and ended
            )
        ended = self.pool.waitForDone(max(0, int(1000 * (deadline - time.monotonic())))) and ended
        self.jobs = [thread for thread in self.jobs if not thread.finished]
        return ended

    def close(self, deadline: float) -> bool:
        """End the compute process (after `wait`); True when it ended by itself before deadline."""
        if self.compute is None:
            return True
        compute, self.compute = self.compute, None
        return compute.shutdown(deadline)

    def stop_all(self, timeout_s: float = CLOSE_TIMEOUT_S) -> bool:
        self.request_stop()
        return self.wait(time.monotonic() + timeout_s)


def stop_all(groups: list[Workers], timeout_s: float = CLOSE_TIMEOUT_S) -> bool:
    """Ask every job of every group to stop, then wait for them all under one deadline, and end the
    compute processes (closing a window)."""
    for workers in groups:
        workers.request_stop()
    deadline = time.monotonic() + timeout_s
    ended = all([workers.wait(deadline) for workers in groups])
    return all([workers.close(deadline) for workers in groups]) and ended
