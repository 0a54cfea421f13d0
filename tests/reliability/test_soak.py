"""Soak: long runs with memory sampled over time, and the app opened and closed during training.

Resident memory must stay bounded once a run is warm (the history the app keeps is capped, see
app/live.py), and a window closed mid-training must leave no thread, no open file and no growth.
Quick mode runs for seconds (and lowers the app's history caps so they are reached); --full runs for
minutes with the product's caps.
"""

from __future__ import annotations

import gc
import signal
import subprocess
import sys
from types import SimpleNamespace

import h5py
import pytest
from conftest import counts, full_mode, train_gkn_run
from helpers.memory import MemoryTrace, open_fds, os_threads, rss_mb
from helpers.waiting import EventLog, event_env, qt_wait_until, wait_until, warm_and_growth

from gkn_core.runs.reader import open_run

# The app soak trains this many steps (quick: past the lowered history caps; full: minutes of training).
APP_STEPS = counts(quick=3000, full=150_000)
CYCLES = counts(quick=10, full=20)
WARMUP = 0.5 if not full_mode() else 1 / 3  # the share of the steps before memory counts as warm

# (id, CLI args after `gkn`, steps between two memory reports, steps measured once warm (quick, full),
# MB the resident memory may grow by over those steps). Memory is reported by the child itself, every
# `every` steps (tests/helpers/event_hooks); the run is warm once `PLATEAU` reports in a row rose by at
# most `PLATEAU_RISE` MB, however long that takes on this machine (imports, the digit classifier, the
# first flushes), and the growth is measured over the next steps, counted in steps, not seconds.
CLI_SOAKS = [
    ("gkn-2d", ("train", "gkn", "--preset", "2d", "--steps", "100000000"), 100, (3000, 300_000), 8.0),
    (
        "chaos-digits8",
        ("train", "chaos", "--preset", "digits8", "--steps", "100000000"),
        10,
        (200, 6000),
        8.0,
    ),
]
PLATEAU, PLATEAU_RISE = 5, 2.0


LONG = pytest.mark.timeout(counts(quick=300, full=1800))  # a full soak runs past pytest's 300 s default


@LONG
@pytest.mark.parametrize(
    "args, every, windows, allowed", [s[1:] for s in CLI_SOAKS], ids=[s[0] for s in CLI_SOAKS]
)
def test_a_long_cli_run_keeps_its_memory_bounded(args, every, windows, allowed, tmp_path, tally):
    path = tmp_path / "soak.h5"
    log = EventLog(tmp_path / "events.log")
    window_steps = counts(*windows)
    child = subprocess.Popen(
        [sys.executable, "-m", "gkn_core.cli", *args, "-q", "--out", str(path)],
        env=event_env(log.path, every=every),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        alive = lambda: child.poll() is None  # noqa: E731
        measured = wait_until(
            lambda: warm_and_growth(log.of("step"), PLATEAU, PLATEAU_RISE, window_steps),
            f"{args[1]}: warm and {window_steps} steps more",
            timeout=counts(quick=280, full=1700),
            alive=alive,
        )
        child.send_signal(signal.SIGINT)  # Ctrl+C: stop after this step, close the run
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0 and out.startswith("stopped:"), (out, err)
    warm, growth = measured
    reports = log.of("step")
    tally.add(f"CLI soak {args[1]} growth over {window_steps} warm steps (MB)", growth)
    tally.add(f"CLI soak {args[1]} warm from step", warm.step)
    shown = ", ".join(f"{r.step}: {r.rss_mb:.0f}" for r in reports[:: max(1, len(reports) // 12)])
    assert growth <= allowed, f"warm from step {warm.step} ({warm.rss_mb:.0f} MB); RSS by step: {shown}"
    with open_run(path) as run:
        assert (
            run.status == "stopped" and len(run.series("train/metrics")["step"]) >= warm.step + window_steps
        )


# The sampling soak (#17.5): `gkn sample` of a trained run, (preset, chains, steps, reports every,
# warm steps measured). --full: the 10 million chain-steps, 1000 chains x 10,000 steps on 2d
# data (80 MB of chain states). Quick: digits8 (64 values a state), 200 chains x 1000 steps (51 MB of
# states), so that a sampler keeping its chains shows it within seconds.
SAMPLING = ("2d", 1000, 10_000, 100, 5000) if full_mode() else ("digits8", 200, 1000, 20, 500)
# The cap: the resident memory at the first sampling step plus this. What the sampler may hold is
# bounded by design: one block of states waiting for the file (STATE_BLOCK_BYTES, 4 MB), HDF5's chunk
# cache (1 MB per dataset), a second of metric rows; 32 MB is that with room for the allocator. It
# is under the size of all the chain states (80 MB full, 51 MB quick), so a sampler, or a report at
# the end, that holds every state fails it.
SAMPLING_CAP_MB = 32.0


@LONG
def test_a_long_sampling_keeps_its_memory_under_a_fixed_cap(tmp_path, tally):
    preset, chains, steps, every, window = SAMPLING
    run = train_gkn_run(tmp_path / "sampled.h5", preset, steps=5 if preset == "digits8" else 50, sample=False)
    log = EventLog(tmp_path / "events.log")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gkn_core.cli",
            "sample",
            str(run),
            f"--chains={chains}",
            f"--steps={steps}",
            "-q",
        ],
        env=event_env(log.path, every=every),
        capture_output=True,
        text=True,
        timeout=counts(quick=280, full=1700),  # a hang guard
    )
    assert done.returncode == 0 and done.stdout.startswith("completed:"), (done.stdout, done.stderr)
    reports = log.of("step")
    (peak,) = log.of("peak")
    dim = 64 if preset == "digits8" else 2
    all_states_mb = chains * (steps + 1) * dim * 4 / 2**20
    measured = warm_and_growth(reports, PLATEAU, PLATEAU_RISE, window)
    assert measured is not None, f"never warm: {[(r.step, r.rss_mb) for r in reports]}"
    warm, growth = measured
    tally.add("sampling soak warm from step", warm.step)
    window_mb = chains * window * dim * 4 / 2**20  # the states the window's steps made
    label = f"sampling soak {preset} {chains} chains x {steps} steps"
    tally.add(f"{label}: RSS at step 1 (MB)", reports[0].rss_mb)
    tally.add(f"{label}: peak RSS, the end included (MB)", peak.rss_mb)
    tally.add(f"{label}: growth over {window} warm steps (MB)", growth)
    tally.add(f"{label}: all chain states (MB)", all_states_mb)
    shown = ", ".join(f"{r.step}: {r.rss_mb:.0f}" for r in reports[:: max(1, len(reports) // 12)])
    assert reports[-1].step == steps and peak.step == steps
    assert growth <= window_mb / 4, (
        f"grew {growth:.1f} MB over {window} steps ({window_mb:.0f} MB of states): {shown}"
    )
    assert peak.rss_mb <= reports[0].rss_mb + SAMPLING_CAP_MB, (
        f"peak {peak.rss_mb:.0f} MB, {reports[0].rss_mb:.0f} MB at step 1 (cap +{SAMPLING_CAP_MB:.0f}); "
        f"all the states are {all_states_mb:.0f} MB; RSS by step: {shown}"
    )
    with open_run(run) as opened:
        assert opened.sampling(read_chains=False).generations == steps + 1


@pytest.fixture
def small_history(monkeypatch):
    """Quick mode lowers the app's history caps so that seconds of training reach them."""
    import app.gkn.live as live
    import app.series as series

    if not full_mode():
        monkeypatch.setattr(series, "MAX_POINTS", 2000)
        monkeypatch.setattr(live, "MAX_FRAMES", 20)
    return SimpleNamespace(MAX_POINTS=series.MAX_POINTS, MAX_FRAMES=live.MAX_FRAMES)


def new_window(folder):
    from PyQt6.QtCore import QSettings

    from app.main_window import MainWindow

    window = MainWindow(
        runs_dir=folder / "runs", settings=QSettings(str(folder / "s.ini"), QSettings.Format.IniFormat)
    )
    window.confirm = lambda question: True
    window.show()
    return window


def close_window(window, qapp) -> None:
    window.close()
    window.deleteLater()
    for _ in range(3):
        qapp.processEvents()


@LONG
def test_a_long_run_in_the_window_keeps_its_memory_bounded(qapp, qtbot, small_history, tmp_path, tally):
    from app.worker import running_threads

    live = small_history
    window = new_window(tmp_path)
    try:
        window.gkn.controls.preset.setCurrentText("2d")
        window.gkn.controls.train_steps.setValue(100_000_000)
        window.tabs.setCurrentIndex(1)  # the 2D view draws every frame it gets
        window.gkn.train_play()
        trace = MemoryTrace()  # (step, MB): sampled as the GUI thread gets to it, counted in steps
        job = window.gkn.train_thread.job
        switch = 0
        while job.steps_done < APP_STEPS:
            qtbot.wait(250)
            trace.add(job.steps_done, rss_mb())
            assert not window.gkn.train_thread.finished, window.last_error
            switch += 1
            if switch % 8 == 0:  # the loss view in front now and then, as a user would look
                window.tabs.setCurrentIndex(3 if window.tabs.currentIndex() == 1 else 1)
        state = window.gkn.state
        steps = job.steps_done
        assert steps >= APP_STEPS
        assert state.steps.size <= live.MAX_POINTS + 1 and len(state.manifolds) <= live.MAX_FRAMES + 1
        assert state.steps.size == state.losses.size == state.best_losses.size
        if steps > live.MAX_POINTS:  # thinned evenly: the stride between kept steps is constant
            kept = state.steps.values[: state.steps.size - 1]
            assert len(set(kept[1:] - kept[:-1])) == 1
        assert state.steps.values[-1] >= steps - 500  # the newest step is always there
    finally:
        close_window(window, qapp)
    assert not running_threads()
    growth = trace.growth_after(WARMUP)
    tally.add("app soak growth after warm-up (MB)", growth)
    tally.add("app soak memory samples", len(trace.samples))
    tally.add("app soak steps", steps)
    assert growth <= 15.0, trace.describe()


def test_opening_and_closing_the_window_during_training_leaks_nothing(qapp, qtbot, tmp_path, tally):
    from app.worker import running_threads

    seen: list[tuple[float, int, int]] = []
    paths = []
    for cycle in range(CYCLES):
        window = new_window(tmp_path / f"cycle{cycle}")
        window.gkn.controls.preset.setCurrentText("2d")
        window.gkn.controls.train_steps.setValue(1_000_000)
        window.gkn.train_play()
        qt_wait_until(qtbot, lambda w=window: w.gkn.state.steps.size > 20)
        paths.append(window.gkn.run_path)
        close_window(window, qapp)
        del window
        gc.collect()
        assert not running_threads(), f"cycle {cycle}: a compute thread outlived its window"
        assert not h5py.h5f.get_obj_ids(types=h5py.h5f.OBJ_FILE), f"cycle {cycle}: a run file is still open"
        seen.append((rss_mb(), open_fds(), os_threads()))
    for path in paths:
        with h5py.File(path, "r") as f:
            assert f["status"][0].decode() == "stopped"
    warm = seen[4]  # after a few cycles everything cached once (fonts, plot items, torch) is there
    last = seen[-1]
    tally.add("app open/close cycles", CYCLES)
    tally.add(f"app {CYCLES} cycles growth cycles 5-{CYCLES} (MB)", last[0] - warm[0])
    assert last[1] <= warm[1], f"open files grew from {warm[1]} to {last[1]}"
    assert last[2] <= warm[2], f"threads grew from {warm[2]} to {last[2]}"
    assert last[0] - warm[0] <= 40.0, f"resident memory per cycle: {[round(s[0]) for s in seen]}"
