"""Timing a job started from the window: how long it runs while the tab in front cycles, and how long
the GUI event loop stalls meanwhile (a heartbeat timer on the GUI thread). Shared by the GUI benchmarks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

HEARTBEAT_MS = 10  # fine enough to see a 30 ms stall, rare enough not to be the load it measures


def rate_in_thread(snapshots: Iterator, steps: int) -> float:
    """Steps/s of a recorded job driven in a plain thread, as the CLI drives it: the headless reference.
    By the job's own clock (its last snapshot's `elapsed`, from its first step), as the window's rate:
    making the job (the model, the run file) is not training speed, in either."""
    last: list = []
    worker = threading.Thread(target=lambda: last.extend(deque(snapshots, maxlen=1)))
    worker.start()
    worker.join()
    return steps / last[-1].elapsed


def warm_up(window, tabs: list[int]) -> None:
    """Show and draw every tab once (first-show layout and caches), so that the stalls measured are
    those of a window in use, not of its first seconds."""
    from PyQt6.QtWidgets import QApplication

    for tab in tabs:
        window.tabs.setCurrentIndex(tab)
        window.redraw(force=True)
        for _ in range(3):
            QApplication.processEvents()


def run_in_window(
    window, start: Callable[[], object], tabs: list[int], switch_ms: int
) -> tuple[float, np.ndarray]:
    """Warm the window up (every tab drawn once), start a job with `start()` (it returns the JobThread),
    cycle the front tab through `tabs` every `switch_ms` until the job ends; (seconds it ran, by the wall
    clock from start(), event-loop stalls in ms)."""
    from PyQt6.QtCore import QEventLoop, QTimer

    warm_up(window, tabs)

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


# -- both compute modes in one process, both displays in one run -----------------------------------
MODES = ("thread", "process")  # the window's compute: QThreads, or the compute process (GKN_COMPUTE)
DISPLAYS = ("offscreen", "xvfb")  # Qt's offscreen platform, and a real X server (xvfb-run)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def use_mode(mode: str) -> None:
    os.environ["GKN_COMPUTE"] = mode


def ready_compute(app, lab, mode: str) -> None:
    """In process mode, start the lab's compute process and wait until it has imported its modules
    (as it has long before a user presses Train: it starts when the lab's view is shown)."""
    from app.screenshot import wait_until

    if mode == "process":
        compute = lab.workers.compute_process()
        wait_until(app, lambda: compute.ready, 300)


def stall_summary(stalls: np.ndarray) -> list[float]:
    return [float(np.percentile(stalls, 50)), float(np.percentile(stalls, 99)), float(stalls.max())]


def measure_modes(
    repeats: int,
    headless: Callable[[int], float],
    windowed: Callable[[str, int], tuple[float, np.ndarray]],
) -> dict:
    """Interleaved (drifts in machine load hit all alike): per repeat the headless rate, then the
    window's with each compute mode. Rates in steps/s, stalls as p50/p99/max ms, the load around it."""
    result: dict = {"load_before": load_average(), "headless": []}
    stalls: dict[str, list[np.ndarray]] = {mode: [] for mode in MODES}
    for mode in MODES:
        result[mode] = []
    for repeat in range(repeats):
        result["headless"].append(headless(repeat))
        for mode in MODES:
            use_mode(mode)
            rate, beat_stalls = windowed(mode, repeat)
            result[mode].append(rate)
            stalls[mode].append(beat_stalls)
    for mode in MODES:
        result[f"stalls_{mode}"] = stall_summary(np.concatenate(stalls[mode]))
    result["load_after"] = load_average()
    return result


def run_displays(script: str, args: list[str], displays: list[str]) -> dict[str, dict]:
    """Run `script --display D --raw-json FILE` once per display (xvfb under xvfb-run -a): its figures."""
    results = {}
    for display in displays:
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch) / "raw.json"
            command = [sys.executable, script, *args, "--display", display, "--raw-json", str(out)]
            env = dict(os.environ, QT_QPA_PLATFORM="offscreen" if display == "offscreen" else "xcb")
            if display == "xvfb":
                if shutil.which("xvfb-run") is None:
                    print("xvfb: xvfb-run not found (apt-get install xvfb); left out")
                    continue
                command = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", *command]
            subprocess.run(command, check=True, env=env)
            results[display] = json.loads(out.read_text())
    return results


def print_side_by_side(title: str, results: dict[str, dict], digits: int = 0) -> None:
    """One table: a column per display, a line per figure (both compute modes), the load beside."""
    names = list(results)
    width = 22

    def row(label: str, values: list[str]) -> None:
        print(f"{label:52s}" + "".join(f"{v:>{width}s}" for v in values))

    print(title)
    row("", names)
    rates = {d: {k: float(np.median(results[d][k])) for k in ("headless", *MODES)} for d in names}
    row("headless steps/s (thread + run file)", [f"{rates[d]['headless']:,.{digits}f}" for d in names])
    for mode in MODES:
        row(f"in the window, compute {mode}: steps/s", [f"{rates[d][mode]:,.{digits}f}" for d in names])
        ratios = [f"{rates[d][mode] / rates[d]['headless']:.2f}" for d in names]
        row(f"  ratio window / headless (target >= 0.95), {mode}", ratios)
    for mode in MODES:
        cells = ["/".join(f"{x:.0f}" for x in results[d][f"stalls_{mode}"]) for d in names]
        row(f"event-loop stall p50/p99/max ms, {mode}", cells)
    row("  (target p99 < 20 ms, max < 100 ms)", ["" for _ in names])
    row("load average 1/5/15 min, before", [results[d]["load_before"] for d in names])
    row("load average 1/5/15 min, after", [results[d]["load_after"] for d in names])
    for d in names:
        runs = "; ".join(
            f"{k} " + ", ".join(f"{x:,.{digits}f}" for x in results[d][k]) for k in ("headless", *MODES)
        )
        print(f"  {d} runs: {runs}")
