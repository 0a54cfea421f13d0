"""Waiting for events, not for seconds: the shared helpers of every test that waits (issue #12).

A test never asserts how long something took and never sleeps to let something happen. It waits
for the event it needs (a line a child printed, a file that appeared, a job blocked in its pause)
with a generous timeout that only guards against a hang: on a slow or busy machine the wait is
longer, never wrong.

- `wait_until(condition)`: poll a condition until it holds (a hang guard, no timing assertion).
- `EventLog`: the events a child process reports (see tests/helpers/event_hooks/sitecustomize.py):
  `step N RSS_MB`, `flushed N`, `checkpoint N`, one per line in a file, from every process the test
  starts (the sweep's pool workers too); `event_env(log)` is the environment that turns them on.
- `watch_waits(job)`: an event set whenever a job's thread blocks in its pause (Job.__iter__).
- `warm_and_growth(reports, ...)`: memory growth per step once the resident memory stopped rising.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

HANG_GUARD = 300.0  # seconds: only a hung program takes this long, however slow the machine
HOOKS = Path(__file__).parent / "event_hooks"


class NeverHappened(AssertionError):
    """The event did not come before the hang guard ran out, or the process waited on ended first."""


def wait_until(
    condition: Callable[[], object],
    what: str = "the condition",
    timeout: float = HANG_GUARD,
    alive: Callable[[], bool] | None = None,
    poll: float = 0.02,
) -> object:
    """Poll `condition` until it returns something true, and return it.

    `alive`: the process the event depends on; once it is false the condition gets one last look
    and the wait fails at once instead of running into the hang guard.
    """
    limit = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if alive is not None and not alive():
            value = condition()
            if value:
                return value
            raise NeverHappened(f"{what}: the process ended first")
        if time.monotonic() > limit:
            raise NeverHappened(f"{what}: not after {timeout:.0f} s (a hang guard, not a timing test)")
        time.sleep(poll)


def qt_wait_until(qtbot, condition: Callable[[], object], timeout: float = HANG_GUARD) -> None:
    """`wait_until` for the GUI thread: Qt events are processed while waiting."""
    qtbot.waitUntil(lambda: bool(condition()), timeout=int(timeout * 1000))


def process_events(qtbot, rounds: int = 3) -> None:
    """Let the GUI thread handle what is queued (queued signals, deferred deletes), a few rounds."""
    from PyQt6.QtCore import QCoreApplication, QEvent

    app = QCoreApplication.instance()
    for _ in range(rounds):
        app.processEvents()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
        qtbot.wait(1)


# -- events reported by child processes ------------------------------------------------------------
def event_env(log: Path, every: int = 50, base: dict | None = None) -> dict[str, str]:
    """The environment of a child that reports its events to `log` (one `step` line every `every`
    steps). The hooks load through Python's sitecustomize, so every Python process started with this
    environment (a sweep's pool workers too) reports."""
    env = dict(os.environ if base is None else base)
    path = [str(HOOKS), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env.update(
        PYTHONPATH=os.pathsep.join(path),
        GKN_TEST_EVENTS=str(log),
        GKN_TEST_EVENTS_EVERY=str(every),
        OMP_NUM_THREADS="1",
    )
    return env


@dataclass(frozen=True)
class Event:
    kind: str  # step, flushed, checkpoint
    pid: int
    step: int
    rss_mb: float = 0.0


class EventLog:
    """The events children wrote to one file, read as they come."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._read = 0
        self._partial = ""
        self.events: list[Event] = []

    def poll(self) -> list[Event]:
        """Read the events written since the last poll; returns all events so far."""
        if not self.path.exists():
            return self.events
        with open(self.path) as handle:
            handle.seek(self._read)
            text = handle.read()
            self._read = handle.tell()
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()  # a line still being written
        for line in lines:
            words = line.split()
            if len(words) >= 3:
                rss = float(words[3]) if len(words) > 3 else 0.0
                self.events.append(Event(words[0], int(words[1]), int(words[2]), rss))
        return self.events

    def of(self, kind: str) -> list[Event]:
        return [event for event in self.poll() if event.kind == kind]

    def wait_for(
        self,
        kind: str,
        condition: Callable[[Event], bool] = lambda event: True,
        alive: Callable[[], bool] | None = None,
        timeout: float = HANG_GUARD,
    ) -> Event:
        """The first event of `kind` for which `condition` holds, once it has come."""

        def found() -> Event | None:
            return next((e for e in self.of(kind) if condition(e)), None)

        return wait_until(found, f"no {kind!r} event came", timeout, alive)  # type: ignore[return-value]


# -- a job blocked in its pause ---------------------------------------------------------------------
class WaitWatch:
    """Counts the times a job's thread blocked in its pause; `wait_for_block` waits for the next."""

    def __init__(self) -> None:
        self.blocked = threading.Event()
        self.count = 0

    def wait_for_block(self, timeout: float = HANG_GUARD) -> None:
        assert self.blocked.wait(timeout), "the job never blocked in its pause"

    def clear(self) -> None:
        self.blocked.clear()


def watch_waits(job) -> WaitWatch:
    """Report each time the thread iterating `job` blocks in its pause (the Condition.wait in
    Job.__iter__): the moment a pause has taken hold, whatever the machine's speed."""
    watch = WaitWatch()
    control = job._control
    real_wait = control.wait

    def wait(timeout: float | None = None) -> bool:
        watch.count += 1
        watch.blocked.set()
        return real_wait(timeout)

    control.wait = wait  # the instance attribute shadows the method for the job's thread
    return watch


# -- memory once warm ------------------------------------------------------------------------------
def warm_start(reports: Sequence[Event], plateau: int, rise_mb: float) -> int | None:
    """Index of the first report from which `plateau` reports in a row rose by at most `rise_mb`
    (the warm-up is over: imports, caches and buffers have reached their size); None: not yet."""
    for start in range(len(reports) - plateau + 1):
        window = [r.rss_mb for r in reports[start : start + plateau]]
        if max(window) - window[0] <= rise_mb:
            return start
    return None


def warm_and_growth(
    reports: Sequence[Event], plateau: int, rise_mb: float, window_steps: int
) -> tuple[Event, float] | None:
    """Once warm, the growth in MB over the next `window_steps` steps: (the warm report, growth), or
    None while the reports do not reach that far yet."""
    start = warm_start(reports, plateau, rise_mb)
    if start is None:
        return None
    warm = reports[start]
    if reports[-1].step < warm.step + window_steps:
        return None
    later = [r for r in reports[start:] if r.step <= warm.step + window_steps]
    return warm, max(r.rss_mb for r in later) - warm.rss_mb
