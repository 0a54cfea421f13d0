"""Compute threads: a worker owns a job (and its torch model) and hands snapshots to the GUI.

The worker never waits for the GUI: it collects snapshots and emits them in batches at most every
`deliver_every` seconds through a queued signal. The GUI never waits for the worker: it keeps the
batches and redraws on its own timer. Control goes through the job's thread-safe pause/resume/stop.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from PyQt6.QtCore import QObject, QThread, pyqtSignal, pyqtSlot

from gkn_core.job import Job

_THREADS: weakref.WeakSet[QThread] = weakref.WeakSet()


def running_threads() -> list[QThread]:
    """Compute threads still running: none may be left once a window has closed."""
    return [thread for thread in _THREADS if thread.isRunning()]


class JobWorker(QObject):
    delivered = pyqtSignal(object)  # list of snapshots since the last delivery
    ended = pyqtSignal(str, str)  # status, reason

    def __init__(self, job: Job, snapshots: Iterator, deliver_every: float = 1 / 30) -> None:
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
            status, reason = "failed", str(exc) or type(exc).__name__
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

    def stop(self, wait_ms: int = 1000) -> bool:
        """Stop at the next step boundary and wait for the thread; True when it has ended."""
        self.job.stop()
        ended = self.thread.wait(wait_ms) if self.thread.isRunning() else True
        self.finished = self.finished or ended
        return ended


class FunctionWorker(QObject):
    done = pyqtSignal(object)
    failed = pyqtSignal(str)

    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.fn = fn

    @pyqtSlot()
    def run(self) -> None:
        try:
            self.done.emit(self.fn())
        except Exception as exc:
            self.failed.emit(str(exc) or type(exc).__name__)
        finally:
            QThread.currentThread().quit()


class FunctionThread(QObject):
    """A one-off computation (basins, a model load) off the GUI thread."""

    done = pyqtSignal(object)
    failed = pyqtSignal(str)

    def __init__(self, fn: Callable[[], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        _THREADS.add(self.thread)
        self.worker = FunctionWorker(fn)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.done.connect(self._finish)
        self.worker.failed.connect(self._fail)

    def start(self) -> None:
        self.thread.start()

    def _finish(self, result: object) -> None:
        self.thread.quit()
        self.thread.wait(1000)
        self.done.emit(result)

    def _fail(self, message: str) -> None:
        self.thread.quit()
        self.thread.wait(1000)
        self.failed.emit(message)

    def wait(self, ms: int = 5000) -> bool:
        self.thread.quit()
        return self.thread.wait(ms)
