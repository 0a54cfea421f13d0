"""Following a run another process writes (issue 17, item 3): the window re-reads it while it grows,
says "live: following", and says so when the writer stops (SIGINT: "stopped") or dies (SIGKILL: no
new data). The writer is a real `gkn train` child; every wait is for an event (hang guard only)."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from helpers.waiting import qt_wait_until, wait_until

from gkn_core.errors import RunFileError
from gkn_core.runs.check import check_run
from gkn_core.runs.reader import open_run

WRITERS = {  # a training that runs until it is stopped, of each kind
    "gkn": ["gkn", "--preset", "2d", "--steps", "100000000"],
    "chaos": ["chaos", "--preset", "digits8", "--nh", "20", "--steps", "100000000", "--metrics-every",
              "100000000", "--lyapunov-every", "100000000", "--device", "cpu"],
}  # fmt: skip


def start_writer(path, kind="gkn"):
    return subprocess.Popen(
        [sys.executable, "-m", "gkn_core.cli", "train", *WRITERS[kind], "--out", str(path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def first_flush(path):
    """The writer's first flush with training rows in it: the step it saved, or 0 (not yet)."""
    if not path.exists():
        return 0
    try:
        with open_run(path) as run:
            steps = run.train_metrics().get("step", [])
            return int(steps[-1]) if len(steps) else 0
    except RunFileError:
        return 0


def follow_until_it_grows(qtbot, window, path, child):
    wait_until(lambda: first_flush(path), "the writer's first flush", alive=lambda: child.poll() is None)
    assert window.open_run_file(path), window.last_error
    follower = window.follower
    first = follower.step
    assert first >= 1 and follower.timer.isActive()
    assert window.file_label.text() == f"live: following {path.name} (step {first})"
    qt_wait_until(qtbot, lambda: follower.step > first)
    assert window.file_label.text() == f"live: following {path.name} (step {follower.step})"
    with open_run(path) as run:  # the window shows what the file holds (or the writer is further on)
        assert run.status == "running"
        assert int(run.train_metrics()["step"][-1]) >= follower.step
    return follower


def test_the_window_follows_a_run_until_its_writer_stops(qtbot, window, tmp_path):
    path = tmp_path / "live.h5"
    child = start_writer(path)
    try:
        follower = follow_until_it_grows(qtbot, window, path, child)
        child.send_signal(signal.SIGINT)  # a stopped writer closes its file with status "stopped"
        child.wait(timeout=300)
    finally:
        child.kill()
        child.wait()
    qt_wait_until(qtbot, lambda: window.file_label.text().startswith("stopped: "))
    assert window.file_label.text() == f"stopped: {path.name} (step {follower.step})"
    assert not follower.timer.isActive()
    with open_run(path) as run:
        assert run.status == "stopped" and int(run.train_metrics()["step"][-1]) == follower.step


@pytest.mark.parametrize("kind", list(WRITERS))
def test_the_window_says_when_a_killed_writer_stopped_growing(qtbot, window, tmp_path, kind):
    path = tmp_path / "live.h5"
    child = start_writer(path, kind)
    try:
        follower = follow_until_it_grows(qtbot, window, path, child)
    finally:
        child.kill()  # SIGKILL: the status stays "running"
        child.wait()
    follower.silent_s = 1.0  # the product waits 10 s; the test only needs the event, sooner
    qt_wait_until(qtbot, lambda: window.file_label.text().startswith("no new data"))
    shown = follower.step
    assert window.file_label.text() == (
        f"no new data for 1 s: the writer of {path.name} may have stopped (step {shown})"
    )
    report = check_run(path)  # the killed writer's file still opens and reads sound
    assert report.datasets == report.checksummed > 0
    with open_run(path) as run:
        assert run.status == "running" and int(run.train_metrics()["step"][-1]) >= shown
