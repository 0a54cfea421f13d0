"""Timing a job started from the window: how long it runs while the tab in front cycles, and how long
the GUI event loop stalls meanwhile (a heartbeat timer on the GUI thread). Shared by the GUI benchmarks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

HEARTBEAT_MS = 10  # fine enough to see a 30 ms stall, rare enough not to be the load it measures


def rate_in_thread(snapshots: Iterator, steps: int) -> float:
    """Steps/s of a recorded job driven in a plain thread, as the CLI drives it: the headless reference."""
    start = time.perf_counter()
    worker = threading.Thread(target=lambda: [None for _ in snapshots])
    worker.start()
    worker.join()
    return steps / (time.perf_counter() - start)


def run_in_window(
    window, start: Callable[[], object], tabs: list[int], switch_ms: int
) -> tuple[float, np.ndarray]:
    """Start a job with `start()` (it returns the JobThread), cycle the front tab through `tabs` every
    `switch_ms` until the job ends; (seconds it ran, event-loop stalls in ms)."""
    from PyQt6.QtCore import QEventLoop, QTimer

    beats: list[float] = []
    heartbeat = QTimer()
    heartbeat.setInterval(HEARTBEAT_MS)
    heartbeat.timeout.connect(lambda: beats.append(time.perf_counter()))
    switcher = QTimer()
    switcher.setInterval(switch_ms)
    switcher.timeout.connect(
        lambda: window.tabs.setCurrentIndex(tabs[(tabs.index(window.tabs.currentIndex()) + 1) % len(tabs)])
    )
    window.tabs.setCurrentIndex(tabs[0])
    loop = QEventLoop()  # the event loop as in the app: it sleeps until something happens
    began = time.perf_counter()
    thread = start()
    thread.ended.connect(lambda *_: loop.quit())
    heartbeat.start()
    switcher.start()
    loop.exec()
    elapsed = time.perf_counter() - began
    heartbeat.stop()
    switcher.stop()
    return elapsed, np.maximum(np.diff(np.asarray(beats)) * 1000 - HEARTBEAT_MS, 0)
