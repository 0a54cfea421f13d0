"""The chaos lab in the window, with real jobs: training view data, the g slider, recordings, the
Lyapunov view, replay, exports, closing mid-run and screenshot mode."""

from __future__ import annotations

import subprocess
import sys

import h5py
import imageio.v3 as iio
import numpy as np
import pytest
from helpers.waiting import HANG_GUARD, process_events, qt_wait_until

from app.chaos.training_view import GRID_COLUMNS
from app.labs import VIEWS
from app.views import mosaic
from app.worker import running_threads
from gkn_core.chaos.config import chaos_preset_config
from gkn_core.chaos.recordings import read_recording, read_recording_file
from gkn_core.chaos.sessions import chaos_training_session
from gkn_core.runs.reader import open_run

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = {"metrics_every": 10, "lyapunov_every": 10, "sample_every": 10, "metrics_samples": 100}


def wait_for(qtbot, condition, timeout_s: float = HANG_GUARD) -> None:
    """Wait for an event; the timeout only guards against a hang (a slow machine waits longer)."""
    qt_wait_until(qtbot, condition, max(timeout_s, HANG_GUARD))


def settle(qtbot) -> None:
    """Deliver what the job threads queued for the GUI (their last snapshots, their end): events."""
    process_events(qtbot)


def small_chaos(window, steps: int = 20) -> None:
    """digits8 with short phases and frequent measurements, so a test trains in seconds."""
    c = window.chaos.controls
    c.preset.setCurrentText("digits8")
    c.train_steps.setValue(steps)
    c.T.setValue(20.0)
    c.metrics_every.setValue(SMALL["metrics_every"])
    c.lyapunov_every.setValue(SMALL["lyapunov_every"])
    c.sample_every.setValue(SMALL["sample_every"])


def show(window, name: str) -> None:
    window.tabs.setCurrentIndex(VIEWS.index(name))
    window.redraw(force=True)


def test_chaos_training_fills_the_training_view_and_the_run_file(window, qtbot):
    small_chaos(window, 20)
    show(window, "chaos")
    assert window.settings_pages.currentIndex() == 1  # the dock shows the chaos settings
    lab = window.chaos
    lab.train_play()
    wait_for(qtbot, lambda: lab.train_thread.finished)
    settle(qtbot)
    window.redraw(force=True)
    state, view = lab.train_state, lab.training_view
    assert state.steps.values.tolist() == list(range(1, 21))
    assert state.score_steps == [1, 10, 20] and state.lyapunov_steps == [1, 10, 20]
    with h5py.File(lab.run_path, "r") as f:
        assert f["status"][0].decode() == "completed"
        np.testing.assert_allclose(view.curves["E2"].yData, f["train/scores/E2"][:].astype(np.float32))
        np.testing.assert_allclose(view.curves["digit"].yData, f["train/scores/digit"][:].astype(np.float32))
        np.testing.assert_allclose(
            view.lyapunov_curve.yData, f["train/lyapunov/largest"][:].astype(np.float32)
        )
        newest = f["train/samples/images"][-1]
    assert 0.0 <= state.scores["digit"][-1] <= 1.0
    np.testing.assert_allclose(view.gap_curve.yData, state.gap.values.astype(np.float32))
    np.testing.assert_array_equal(view.grid_image.image, mosaic(newest.reshape(-1, 8, 8), GRID_COLUMNS, -1.0))


def test_step_before_play_starts_a_paused_chaos_run(window, qtbot):
    small_chaos(window, 1000)
    lab = window.chaos
    lab.train_step()
    wait_for(qtbot, lambda: lab.train_state.steps.size == 1, 30)
    lab.train_step()
    wait_for(qtbot, lambda: lab.train_state.steps.size == 2, 30)
    settle(qtbot)
    assert lab.train_thread.job.steps_done == 2 and lab.train_thread.job.is_paused


def test_g_slider_restarts_the_dynamics_job_without_a_leftover_thread(window, qtbot):
    small_chaos(window)
    lab = window.chaos
    show(window, "dynamics")  # the first look starts the trajectories of the untrained network
    wait_for(qtbot, lambda: lab.dynamics_thread is not None and lab.dynamics_thread.finished)
    first = lab.dynamics_thread
    lab.dynamics_view.g_slider.setValue(0.5)
    wait_for(qtbot, lambda: lab.dynamics_thread is not first and lab.dynamics_thread.finished)
    settle(qtbot)
    assert first.finished and not first.thread.isRunning()
    assert lab.dynamics_model.settings.g == pytest.approx(0.5)
    assert [t for t in running_threads() if t is first.thread] == []
    window.redraw(force=True)
    recording = lab.finished_recording()
    assert recording.model_config.g == pytest.approx(0.5)
    np.testing.assert_allclose(lab.dynamics_state.states, recording.states)  # only the new job's frames


def test_record_and_export_a_trajectory_set(window, qtbot, tmp_path):
    small_chaos(window)
    lab = window.chaos
    show(window, "dynamics")
    wait_for(qtbot, lambda: lab.dynamics_thread is not None and lab.dynamics_thread.finished)
    expected = lab.finished_recording()
    assert lab.record()
    wait_for(qtbot, lambda: not lab.workers.busy)  # written, and its message handed over
    settle(qtbot)
    path = window.recent_runs()[0]
    with open_run(path) as run:
        stored = read_recording(run)
        assert run.kind == "chaos"
    np.testing.assert_array_equal(stored.states, expected.states)
    assert stored.model_config.g == pytest.approx(lab.dynamics_model.settings.g)
    for suffix in ("h5", "npz", "csv"):
        out = tmp_path / f"rec.{suffix}"
        assert window.export("recording", out), window.last_error
        assert out.stat().st_size > 0
    np.testing.assert_array_equal(read_recording_file(tmp_path / "rec.h5").states, expected.states)
    with np.load(tmp_path / "rec.npz", allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["states"], expected.states)
    gif = tmp_path / "images.gif"
    assert window.export("dynamics-images", gif), window.last_error
    wait_for(qtbot, lambda: lab.animation.finished)  # drawn, then written in a worker
    assert len(iio.imread(gif, index=None)) >= 2 and "saved to" in window.statusBar().currentMessage()
    assert not window.export("recording", tmp_path / "rec.txt")
    assert "recordings export to" in window.last_error


def test_lyapunov_view_draws_the_analysis_of_the_untrained_network(window, qtbot):
    small_chaos(window)
    lab = window.chaos
    show(window, "lyapunov")
    settings = lab.lyapunov_view.settings() | {
        "exponents": 8,
        "steps": 40,
        "g_values": [0.5, 2.5],
        "g_steps": 30,
    }
    assert lab.start_lyapunov(settings)
    wait_for(qtbot, lambda: lab.lyapunov_thread.finished, 120)
    settle(qtbot)
    window.redraw(force=True)
    snapshot = lab.lyapunov_state.snapshot
    assert len(snapshot.spectrum) == 8 and list(snapshot.g_values) == [0.5, 2.5]
    assert snapshot.g_largest[0] < 0 < snapshot.g_largest[1]  # order at g = 0.5, chaos at g = 2.5
    view = lab.lyapunov_view
    x, y = view.spectrum_curve.getData()
    np.testing.assert_allclose(y, snapshot.spectrum.astype(np.float32), rtol=1e-6)
    np.testing.assert_allclose(x, np.arange(1, 9) / snapshot.n_units, rtol=1e-6)
    np.testing.assert_allclose(view.g_curve.getData()[1], snapshot.g_largest.astype(np.float32), rtol=1e-6)


def test_replay_of_a_chaos_run_scrubs_its_sample_grids(window, qtbot, tmp_path):
    config = chaos_preset_config("digits8", {"model": {"T": 20.0}, "train": {"steps": 30, **SMALL}})
    path = tmp_path / "replay.h5"
    _, snapshots = chaos_training_session(config, path)
    for _ in snapshots:
        pass
    assert window.open_run_file(path), window.last_error
    assert VIEWS[window.tabs.currentIndex()] == "chaos"
    window.redraw(force=True)
    view = window.chaos.training_view
    assert window.chaos.train_state.sample_steps == [1, 10, 20, 30]
    view.slider.setValue(1)
    with h5py.File(path, "r") as f:
        grid = f["train/samples/images"][1]
    np.testing.assert_array_equal(view.grid_image.image, mosaic(grid.reshape(-1, 8, 8), GRID_COLUMNS, -1.0))
    assert view.markers[0].value() == 10 and view.markers[0].isVisible()
    out = tmp_path / "grid.png"
    assert window.export("chaos-grid", out) and iio.imread(out).shape[0] > 8
    assert window.export("plot", tmp_path / "training.svg"), window.last_error


def test_closing_mid_chaos_training_leaves_a_valid_stopped_run(qtbot, tmp_path):
    from PyQt6.QtCore import QSettings

    from app.main_window import MainWindow

    win = MainWindow(
        runs_dir=tmp_path / "runs", settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    )
    win.show()
    small_chaos(win, 1_000_000)
    win.chaos.train_play()
    wait_for(qtbot, lambda: win.chaos.train_thread.job.steps_done > 3)
    path = win.chaos.run_path
    job = win.chaos.train_thread.job
    win.close()  # the job stops at the next step boundary and has ended before close returns
    assert not running_threads()
    assert job.stop_requested, "closing never asked the job to stop"
    with open_run(path) as run:
        assert run.status == "stopped"
        # the step it stopped at: the same in the window, in the run file and in the last snapshot
        assert run.checkpoint_steps()[-1] == job.steps_done == win.chaos.train_state.steps.values[-1] >= 4
    with h5py.File(path, "r") as f:
        assert f["train/status"][0].decode() == "stopped"


# --view lyapunov runs the full default analysis (about 20 s here): it makes docs/images/view-lyapunov.png.
@pytest.mark.parametrize("view", ["chaos", "dynamics"])
def test_chaos_screenshot_modes_write_a_png(tmp_path, view):
    out = tmp_path / f"{view}.png"
    args = ["--preset", "digits8", "--view", view, "--screenshot", str(out)]
    if view == "chaos":
        args += ["--train-steps", "10"]
    result = subprocess.run(
        [sys.executable, "-m", "app.entry", "app", *args], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    image = iio.imread(out)
    assert image.shape[:2] == (860, 1400) and image[..., :3].std() > 10


def test_dynamics_of_the_trained_network_records_the_chosen_layer(window, qtbot):
    small_chaos(window, 20)
    lab = window.chaos
    lab.train_play()
    wait_for(qtbot, lambda: lab.train_thread.finished)
    show(window, "dynamics")
    wait_for(qtbot, lambda: lab.dynamics_thread is not None and lab.dynamics_thread.finished)
    lab.dynamics_view.set_settings(source="trained", layers="visible")
    assert lab.restart_dynamics(lab.dynamics_view.settings())
    wait_for(qtbot, lambda: lab.dynamics_thread.finished)
    recording = lab.finished_recording()
    assert recording.source == "checkpoint 20" and recording.units.tolist() == list(range(64))
    with open_run(lab.run_path) as run:
        stored = run.checkpoint(20).weights["A1"]
    np.testing.assert_array_equal(lab.dynamics_model.pairs[0].A.numpy(), stored)  # the learned couplings


def test_bad_chaos_settings_get_one_line_in_a_dialog_and_no_job(window, qtbot, tmp_path):
    lab = window.chaos
    c = lab.controls
    c.preset.setCurrentText("digits8")
    c.dt.setValue(20.0)  # larger than tau = 10: Euler would overshoot
    lab.train_play()
    assert "dt (20) must not exceed tau (10)" in window.last_error and "\n" not in window.last_error
    assert lab.train_thread is None
    c.dt.setValue(1.0)
    c.data.setCurrentText("file")
    c.data_path.setText(str(tmp_path / "missing.npz"))
    lab.train_play()
    assert "missing.npz" in window.last_error and lab.train_thread is None
    c.data.setCurrentText("digits8")
    assert not lab.restart_dynamics({"source": "trained", "g": 1.5, "chains": 2, "steps": 20})
    assert "no chaos run yet" in window.last_error
    assert not lab.start_lyapunov({"exponents": 100_000})
    assert "exponents" in window.last_error and lab.lyapunov_thread is None
    assert not window.open_run_file(tmp_path / "missing.h5")
    assert window.isVisible()


def test_a_long_run_keeps_a_bounded_evenly_spread_set_of_sample_grids():
    from app.chaos.training_state import MAX_GRIDS, ChaosTrainState
    from gkn_core.chaos.train import ChaosTrainSnapshot

    state = ChaosTrainState(image_shape=(8, 8), total_steps=5000)
    grid = np.zeros((4, 64), np.float32)
    for start in range(0, 5000, 100):
        state.add(
            [ChaosTrainSnapshot(s, 5000, 0.1, 0.5, 1.0, samples=grid) for s in range(start + 1, start + 101)]
        )
    assert len(state.sample_grids) <= MAX_GRIDS and state.sample_steps[-1] == 5000
    assert state.sample_steps[0] == 1 and state.sample_steps == sorted(state.sample_steps)
    gaps = np.diff(state.sample_steps[:-1])
    assert gaps.min() == gaps.max()  # evenly spread, the newest always last
