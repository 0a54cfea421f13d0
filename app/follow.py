"""Follow a run another process is writing (issue 17, item 3).

A run opened while its status is "running" is re-read whenever its file changed (checked every
POLL_MS, so the view is at most about a second behind): the lab replays it again and the status
label says "live: following RUN (step N)". The reader opens without HDF5's file lock and the
writer flushes a consistent prefix about every second (docs/run-format.md, Following a run live),
so reading never disturbs the writer. When the status leaves "running" the label says how the run
ended; when the file stops changing for `silent_s` the label says the writer may have stopped.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QObject, QTimer

from gkn_core.errors import GKNError
from gkn_core.runs.reader import open_run

POLL_MS = 500
SILENT_S = 10.0  # no change of the file for this long while "running": the writer may have died


def file_stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def newest_step(run: Any) -> int:
    """The newest step saved: of the running sampling if there is one, else of the training."""
    names = run.sampling_names()
    where = "train/metrics"
    if names and run.state("status", f"sampling/{names[-1]}") == "running":
        where = f"sampling/{names[-1]}/metrics"
    if where not in run.file:
        return 0
    steps = run.series(where)["step"]
    return int(steps[-1]) if len(steps) else 0


class RunFollower(QObject):
    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.path: Path | None = None
        self.lab: Any = None
        self.step = 0  # the newest step shown
        self.text = ""
        self.silent_s = SILENT_S
        self._stamp: tuple[int, int] | None = None
        self._changed_at = 0.0
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)

    def follow(self, path: Path, lab: Any) -> None:
        """Called after a replay of `path` was shown: follow it if its writer is still at work."""
        self.stop()
        try:
            with open_run(path) as run:
                status, step = run.status, newest_step(run)
        except GKNError:
            return
        if status != "running":
            return
        self.path, self.lab, self.step = Path(path), lab, step
        self._stamp, self._changed_at = file_stamp(self.path), time.monotonic()
        self._say(f"live: following {self.path.name} (step {step})")
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self.path = self.lab = None

    def _say(self, text: str) -> None:
        self.text = text
        if self.lab is not None:
            self.lab.label_run(text)

    def _say_if_silent(self, why: str = "") -> None:
        if time.monotonic() - self._changed_at >= self.silent_s:
            self._say(
                f"no new data for {self.silent_s:g} s: the writer of {self.path.name} may have stopped"
                f" (step {self.step}){why}"
            )

    def poll(self) -> None:
        path, lab = self.path, self.lab
        if path is None or lab is None or lab.run_path != path:  # the lab shows something else now
            self.stop()
            return
        stamp = file_stamp(path)
        if stamp == self._stamp:
            self._say_if_silent()
            return
        try:
            with open_run(path) as run:
                status, step = run.status, newest_step(run)
                data = lab.read_replay(run)
        except GKNError as exc:  # caught the writer inside a flush: read again at the next tick
            self._say_if_silent(f"; cannot read it: {exc}")
            return
        self._stamp, self._changed_at = stamp, time.monotonic()
        lab.replay(path, data)
        self.window.redraw(force=True)
        self.step = step
        if status == "running":
            self._say(f"live: following {path.name} (step {step})")
        else:
            self._say(f"{status}: {path.name} (step {step})")
            self.timer.stop()
