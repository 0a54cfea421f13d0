"""Compute threads: a worker owns a job (and its torch model) and hands snapshots to the GUI.

The worker never waits for the GUI: it collects snapshots and emits them in batches at most every
`deliver_every` seconds through a queued signal. The GUI never waits for the worker: it keeps the
batches and redraws on its own timer. Control goes through the job's thread-safe pause/resume/stop.

Step-by-step jobs (training, sampling, trajectories, Lyapunov analyses) run in a `JobThread`; one-shot
functions (basins, writing a recording) run as superqt `FunctionWorker`s. Each lab keeps every thread
it started in one `Workers`, and closing waits for all of them in one way, under CLOSE_TIMEOUT_S.

Why not superqt's GeneratorWorker for the jobs: it emits one queued signal per yielded snapshot
(thousands a second, each a slice of GUI time holding the GIL away from training), so batching would
need a wrapping generator anyway; its pause and quit are polled between yields, while our jobs pause,
single-step and stop inside their own iterator (Job.pause/advance_one/stop, thread-safe), which a
GeneratorWorker would never see while the job waits; and a QThread per job can be waited for, so a
restarted job knows the old one has closed its run file before the new one opens it for writing.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from PyQt6 import sip
from PyQt6.QtCore import QObject, QThread, QThreadPool, pyqtSignal, pyqtSlot
from superqt.utils import FunctionWorker

from gkn_core.job import Job

LIVE_DELIVERY_S = 1 / 30  # snapshots reach the window thirty times a second ...
TRAIN_DELIVERY_S = 0.1  # ... training snapshots ten times a second (less GUI work holding the GIL)
STEP_WAIT_MS = 1000  # a replaced job gets this long to end its step; a longer one ends by itself
CLOSE_TIMEOUT_S = 30.0  # the one limit on closing: every job and function of a window ends within it
# (a Lyapunov spectrum is one job step and can take seconds; it is never cut off, only waited for)

_THREADS: weakref.WeakSet[QThread] = weakref.WeakSet()
_JOB_THREADS: weakref.WeakSet[JobThread] = weakref.WeakSet()
_POOLS: weakref.WeakSet[QThreadPool] = weakref.WeakSet()


def running_threads() -> list[QObject]:
    """Compute threads (and pools with a function running) still busy: none once a window has closed."""
    threads: list[QObject] = [thread for thread in _THREADS if thread.isRunning()]
    return threads + [pool for pool in _POOLS if not sip.isdeleted(pool) and pool.activeThreadCount() > 0]


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
    pool of the lab's own, so that waiting for them waits for nobody else's)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        _POOLS.add(self.pool)
        self.jobs: list[JobThread] = []
        self._functions: set[FunctionWorker] = set()  # kept alive until they have finished

    def job(self, job: Job, snapshots: Iterator) -> JobThread:
        """A job thread, not started yet; replaced ones stay listed until they have ended."""
        self.jobs = self._live()
        thread = JobThread(job, snapshots, self)
        self.jobs.append(thread)
        return thread

    def call(self, fn: Callable[[], Any], done: Callable[[Any], None], failed: Callable[[str], None]) -> None:
        """Run fn off the GUI thread; its result (or its error as one line) comes back in the GUI thread."""
        worker = FunctionWorker(fn)
        worker.returned.connect(done)
        worker.errored.connect(lambda exc: failed(error_line(exc)))
        worker.finished.connect(lambda w=worker: self._functions.discard(w))
        self._functions.add(worker)
        self.pool.start(worker)

    @property
    def busy(self) -> bool:
        """A function still running, or its result not yet handed over."""
        return bool(self._functions)

    def _live(self) -> list[JobThread]:
        return [thread for thread in self.jobs if thread.thread.isRunning() or not thread.finished]

    def request_stop(self) -> None:
        for thread in self._live():
            thread.job.stop()

    def wait(self, deadline: float) -> bool:
        """Wait (until time.monotonic() reaches deadline) for every job and function; True when all ended."""
        ended = True
        for thread in self._live():
            ended = thread.stop(int(1000 * (deadline - time.monotonic()))) and ended
        ended = self.pool.waitForDone(max(0, int(1000 * (deadline - time.monotonic())))) and ended
        self.jobs = [thread for thread in self.jobs if not thread.finished]
        return ended

    def stop_all(self, timeout_s: float = CLOSE_TIMEOUT_S) -> bool:
        self.request_stop()
        return self.wait(time.monotonic() + timeout_s)


def stop_all(groups: list[Workers], timeout_s: float = CLOSE_TIMEOUT_S) -> bool:
    """Ask every job of every group to stop, then wait for them all under one deadline."""
    for workers in groups:
        workers.request_stop()
    deadline = time.monotonic() + timeout_s
    return all([workers.wait(deadline) for workers in groups])
