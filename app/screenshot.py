"""What every lab's `gkn app --screenshot` preparation shares (app/<kind>/screenshot.py): waiting for
its jobs while the event loop runs, and rendering the window to a PNG at the end."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gkn_core.errors import GKNError

JOB_LIMIT_S = 600  # a screenshot's job that takes longer is reported, not waited for forever


def wait_until(app: Any, done: Callable[[], bool], timeout: float) -> bool:
    """Process events until `done()` or `timeout` seconds; whether it was done."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        app.processEvents()
        time.sleep(0.005)
    return True


def finish(app: Any, window: Any, thread_of_lab: Callable[[], Any], what: str) -> None:
    """Wait for a lab's job to end (`thread_of_lab`: a callable, as the lab replaces its threads);
    an error, or a job past JOB_LIMIT_S, raises a GKNError that says what."""
    if window.last_error or not wait_until(app, lambda: thread_of_lab().finished, JOB_LIMIT_S):
        raise GKNError(window.last_error or f"{what} did not finish within {JOB_LIMIT_S // 60} minutes")


def save_screenshot(app: Any, window: Any, path: Path) -> int:
    """Let the views draw what arrived, then render the whole window to a PNG."""
    wait_until(app, lambda: False, 0.3)
    window.redraw(force=True)
    app.processEvents()
    if not window.grab().save(str(path)):
        raise GKNError(f"cannot write {path}")
    window.close()
    return 0
