"""The window with real jobs: transport buttons, plot data from snapshots, replay, export, closing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import imageio.v3 as iio
import numpy as np
import pytest
from helpers.waiting import HANG_GUARD, process_events, qt_wait_until

from app.gkn.live import LiveState
from app.gkn.manifold1d import OneDView
from app.worker import running_threads
from gkn_core.gkn.config import preset_config
from gkn_core.gkn.manifolds import Manifold1D
from gkn_core.gkn.sessions import sampling_session, training_session


def wait_for(qtbot, condition, timeout_s: float = HANG_GUARD) -> None:
    """Wait for an event; the timeout only guards against a hang (a slow machine waits longer)."""
    qt_wait_until(qtbot, condition, max(timeout_s, HANG_GUARD))


def settle(qtbot) -> None:
    """Deliver what the job threads queued for the GUI (their last snapshots, their end): events."""
    process_events(qtbot)


def use_preset(window, name: str, train_steps: int, sample_steps: int | None = None) -> None:
    window.gkn.controls.preset.setCurrentText(name)
    window.gkn.controls.train_steps.setValue(train_steps)
    if sample_steps is not None:
        window.gkn.controls.sample_steps.setValue(sample_steps)
        window.gkn.controls.burn_in.setValue(min(window.gkn.controls.burn_in.value(), sample_steps - 1))


def test_train_then_sample_updates_the_plot_items(window, qtbot):
    use_preset(window, "1d", 300, sample_steps=20)
    window.gkn.train_play()
    wait_for(qtbot, lambda: window.gkn.train_thread.finished)
    settle(qtbot)
    window.tabs.setCurrentIndex(0)
    window.redraw(force=True)
    state = window.gkn.state
    assert state.steps.values.tolist() == list(range(1, 301))
    panel = window.views["1d"].live_panel
    x, fx = panel.fx_curve.getData()
    np.testing.assert_array_equal(x, state.latest_manifold.x)
    np.testing.assert_array_equal(fx, state.latest_manifold.fx)
    with h5py.File(window.gkn.run_path, "r") as f:  # the run file the window wrote agrees
        np.testing.assert_allclose(f["train/manifolds/fx"][-1], fx)
        assert f["status"][0].decode() == "completed"

    window.gkn.sample_play()
    wait_for(qtbot, lambda: window.gkn.sample_thread.finished)
    settle(qtbot)
    window.redraw(force=True)
    assert len(state.chains) == 21 and state.chains[0].shape == (10, 1)
    newest_x, _ = panel.output_tails.items[0].getData()
    np.testing.assert_allclose(newest_x, state.chains[-1][:, 0])
    with h5py.File(window.gkn.run_path, "r") as f:
        np.testing.assert_array_equal(f["sampling/0000/chains"][:, -1], state.chains[-1])

    window.tabs.setCurrentIndex(3)  # loss view draws the same numbers
    loss = window.views["loss"].loss_curve.yData  # the data set, before the log axis transforms it
    np.testing.assert_allclose(loss, np.maximum(state.losses.values, 1e-16).astype(np.float32))


def test_play_pause_step_reset(window, qtbot):
    use_preset(window, "1d", 1_000_000)
    window.gkn.train_play()
    wait_for(qtbot, lambda: window.gkn.train_thread.job.steps_done > 10)
    job = window.gkn.train_thread.job
    window.gkn.train_play()  # pause
    wait_for(qtbot, lambda: job.is_waiting)  # the job waits in its pause (the compute process said so)
    paused_at = job.steps_done
    settle(qtbot)
    assert job.steps_done == paused_at and job.is_paused
    assert window.gkn.state.steps.values[-1] == paused_at  # every step up to the pause has arrived
    window.gkn.train_step()
    wait_for(qtbot, lambda: job.steps_done == paused_at + 1 and job.is_waiting)
    settle(qtbot)
    assert job.steps_done == paused_at + 1  # one step, and the job waits again
    assert window.gkn.state.steps.values[-1] == paused_at + 1
    window.gkn.train_play()  # resume
    wait_for(qtbot, lambda: job.steps_done > paused_at + 20, 10)
    path, thread = window.gkn.run_path, window.gkn.train_thread
    window.gkn.train_reset()
    assert window.gkn.run_path is None and window.gkn.state.steps.size == 0
    assert thread.finished and window.gkn.train_thread is None  # waited for: its file is closed
    with h5py.File(path, "r") as f:
        assert f["status"][0].decode() == "stopped"


def test_step_before_play_starts_a_paused_run(window, qtbot):
    use_preset(window, "1d", 1000)
    window.gkn.train_step()
    wait_for(qtbot, lambda: window.gkn.state.steps.size == 1, 10)
    settle(qtbot)
    assert window.gkn.state.steps.values.tolist() == [1]


def test_a_restarted_sampling_drops_the_batches_the_old_job_had_queued(window, qtbot):
    """The stale-batch guard: batches a replaced sampling thread had queued never reach the new chains."""
    use_preset(window, "1d", 50, sample_steps=12)
    lab = window.gkn
    lab.train_play()
    wait_for(qtbot, lambda: lab.train_thread.finished)
    assert lab.start_sampling(paused=True)
    old = lab.sample_thread
    batches: list[list] = []
    old.delivered.connect(batches.append)
    for steps in (1, 2, 3):  # single steps through a pause: each is delivered at once, in its own batch
        lab.sample_step()
        wait_for(qtbot, lambda s=steps: old.job.steps_done == s and old.job.is_waiting and len(batches) == s)
    assert [len(batch) for batch in batches] == [1, 1, 1]
    assert lab.start_sampling(paused=False)  # the old job stops; a new one starts
    new = lab.sample_thread
    assert new is not old
    for batch in list(batches):  # what the old job still had on its way arrives after the restart ...
        old.delivered.emit(batch)
    wait_for(qtbot, lambda: new.finished and old.finished)
    settle(qtbot)
    chains = np.stack(lab.state.chains, axis=1)  # ... and is dropped: only the new job's chains
    with h5py.File(lab.run_path, "r") as f:
        groups = sorted(f["sampling"])
        assert len(groups) == 2 and f[f"sampling/{groups[0]}/chains"].shape[1] == 4  # start + 3 steps
        np.testing.assert_array_equal(chains, f[f"sampling/{groups[1]}/chains"][:])
    assert chains.shape == (10, 13, 1)


def test_a_snapshot_sets_the_1d_curves(qtbot):
    view = OneDView()
    qtbot.addWidget(view)
    x = np.linspace(0, 1, 5, dtype=np.float32)
    state = LiveState(dim=1, data=np.float32([[0.2], [0.8]]))
    state.manifold_steps.append(7)
    state.manifolds.append(Manifold1D(x, x**2, (x - x**2) ** 2))
    state.start_chains(np.float32([[0.1], [0.9]]), burn_in=0)
    state.chains.append(np.float32([[0.15], [0.85]]))
    view.render(state)
    np.testing.assert_array_equal(view.live_panel.fx_curve.getData()[1], x**2)
    np.testing.assert_array_equal(view.live_panel.loss_curve.getData()[1], (x - x**2) ** 2)
    tail_x, tail_y = view.live_panel.loss_tails.items[0].getData()
    np.testing.assert_allclose(tail_x, [0.15, 0.85])
    np.testing.assert_allclose(tail_y, np.interp([0.15, 0.85], x, (x - x**2) ** 2), rtol=1e-6)


def test_2d_view_shows_the_loss_map_and_click_starts_a_chain(window, qtbot):
    use_preset(window, "2d", 200, sample_steps=10)
    window.tabs.setCurrentIndex(1)
    window.gkn.train_play()
    wait_for(qtbot, lambda: window.gkn.train_thread.finished)
    settle(qtbot)
    window.redraw(force=True)
    image = window.views["2d"].loss_image.image
    np.testing.assert_allclose(
        image, np.log10(np.maximum(window.gkn.state.latest_manifold.loss, 1e-12)), rtol=1e-5
    )
    window.gkn.start_chains_at(np.float32([[0.3, 0.7]]))
    wait_for(qtbot, lambda: window.gkn.sample_thread.finished)
    settle(qtbot)
    assert window.gkn.state.chains[0].tolist() == [[pytest.approx(0.3), pytest.approx(0.7)]]
    window.views["2d"].basins_box.setChecked(True)
    wait_for(qtbot, lambda: window.views["2d"].basins is not None, 30)
    assert window.views["2d"].basins.label.shape == (128, 128)


def test_kaleidoscope_grid_scrubs_generations(window, qtbot):
    use_preset(window, "digits8", 50, sample_steps=6)
    window.tabs.setCurrentIndex(2)
    window.gkn.train_play()
    wait_for(qtbot, lambda: window.gkn.train_thread.finished)
    window.gkn.sample_play()
    wait_for(qtbot, lambda: window.gkn.sample_thread.finished)
    settle(qtbot)
    window.redraw(force=True)
    view = window.views["kaleidoscope"]
    assert window.gkn.generation_slider.maximum() == 6  # the one generation control (the replay bar)
    window.gkn.generation_slider.setValue(2)
    shown = view.grid_image.image
    first_cell = shown[1:9, 1:9]
    np.testing.assert_allclose(first_cell, window.gkn.state.chains[2][0].reshape(8, 8))
    view.select_chain(3)
    strip = view.strip_image.image
    np.testing.assert_allclose(strip[1:9, 1:9], window.gkn.state.chains[0][3].reshape(8, 8))


def test_replay_of_a_saved_run_scrubs_steps_and_generations(window, qtbot, tmp_path):
    path = tmp_path / "saved.h5"
    _, snapshots = training_session(
        preset_config("1d", {"train": {"steps": 200, "manifold_every": 50}}), path
    )
    list(snapshots)
    _, snapshots = sampling_session(path, {"chains": 5, "steps": 8})
    list(snapshots)
    assert window.open_run_file(path)
    with h5py.File(path, "r") as f:
        frames = f["train/manifolds/fx"][:]
        chains = f["sampling/0000/chains"][:]
    assert window.gkn.frame_slider.maximum() == len(frames) - 1
    window.gkn.frame_slider.setValue(1)
    window.gkn.generation_slider.setValue(3)
    window.redraw(force=True)
    panel = window.views["1d"].live_panel
    np.testing.assert_array_equal(panel.fx_curve.getData()[1], frames[1])
    np.testing.assert_allclose(panel.output_tails.items[0].getData()[0], chains[:, 3, 0])


def test_bad_files_get_a_message_and_the_window_goes_on(window, tmp_path):
    junk = tmp_path / "junk.h5"
    junk.write_text("not a run")
    assert not window.open_run_file(junk)
    assert "not an HDF5 file" in window.last_error
    assert not window.open_run_file(tmp_path / "missing.h5")
    assert "no such file" in window.last_error
    assert window.isVisible()


def test_exports_are_written_and_readable(window, qtbot, tmp_path):
    use_preset(window, "digits8", 30, sample_steps=4)
    window.gkn.train_play()
    wait_for(qtbot, lambda: window.gkn.train_thread.finished)
    window.gkn.sample_play()
    wait_for(qtbot, lambda: window.gkn.sample_thread.finished)
    settle(qtbot)
    window.tabs.setCurrentIndex(2)
    window.redraw(force=True)
    assert window.export("plot", tmp_path / "grid-plot.png")
    window.tabs.setCurrentIndex(3)
    assert window.export("plot", tmp_path / "loss.svg")
    window.tabs.setCurrentIndex(2)
    assert window.export("grid", tmp_path / "grid.png")
    for suffix in ("csv", "npz", "h5"):
        assert window.export("chains", tmp_path / f"chains.{suffix}")
    for suffix in ("gif", "mp4"):  # drawn, then written in a worker: wait for "saved to"
        assert window.export("animation", tmp_path / f"sampling.{suffix}")
        qtbot.waitUntil(lambda: window.gkn.animation.finished, timeout=60_000)
    assert iio.imread(tmp_path / "grid-plot.png").shape[1] == 1600
    svg = (tmp_path / "loss.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<path" in svg
    grid = iio.imread(tmp_path / "grid.png")
    assert grid.shape == (4 * (6 * 9 + 1), 4 * (8 * 9 + 1))
    with np.load(tmp_path / "chains.npz") as exported:
        np.testing.assert_array_equal(exported["chains"][:, -1], window.gkn.state.chains[-1])
    assert iio.imread(tmp_path / "sampling.gif").shape[0] == 5  # generations 0..4
    assert iio.imread(tmp_path / "sampling.mp4").shape[0] == 5
    assert not window.export("chains", tmp_path / "chains.xls")
    assert "export to .csv" in window.last_error


def test_closing_mid_training_stops_at_the_next_step_and_marks_the_run(qtbot, tmp_path):
    from PyQt6.QtCore import QSettings

    from app.main_window import MainWindow

    win = MainWindow(
        runs_dir=tmp_path / "runs", settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    )
    win.show()
    use_preset(win, "2d", 1_000_000)
    win.gkn.train_play()
    wait_for(qtbot, lambda: win.gkn.train_thread.job.steps_done > 5)
    path = win.gkn.run_path
    job = win.gkn.train_thread.job
    win.close()  # the job stops at the next step boundary and has ended before close returns
    assert not running_threads()
    assert job.stop_requested, "closing never asked the job to stop"
    with h5py.File(path, "r") as f:
        assert f["status"][0].decode() == "stopped" and f["train/status"][0].decode() == "stopped"
        written = f["train/metrics/step"][:]
    # the step it stopped at: the same in the window, in the run file and in the last snapshot
    assert job.steps_done == written[-1] == win.gkn.state.steps.values[-1] > 5
    np.testing.assert_array_equal(win.gkn.state.steps.values, written)


def test_screenshot_mode_writes_a_png_and_exits_0(tmp_path):
    out = tmp_path / "shot.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.entry",
            "app",
            "--preset",
            "1d",
            "--view",
            "1d",
            "--train-steps",
            "100",
            "--screenshot",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    image = iio.imread(out)
    assert image.shape[:2] == (860, 1400)
    assert image[..., :3].std() > 10  # a real picture, not a blank window
    bad = subprocess.run(
        [sys.executable, "-m", "app.entry", "app", "--view", "3d", "--screenshot", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "gkn: error: --view: '3d' is not one of "
        "1d, 2d, kaleidoscope, loss, chaos, dynamics, lyapunov, sweep, claims, runs, compare"
    ]


def test_a_failed_job_gives_a_message_and_a_failed_run_file(window, qtbot):
    from helpers.faults import poison_training

    use_preset(window, "1d", 1000)
    window.gkn.train_step()
    wait_for(qtbot, lambda: window.gkn.state.steps.size == 1 and window.gkn.train_thread.job.is_waiting)
    poisoned: list[int] = []  # the job waits in its pause: its weights poisoned as a blow-up would
    window.gkn.request(poison_training, (), poisoned.append)  # in the compute process, as a request
    wait_for(qtbot, lambda: poisoned)
    assert poisoned == [1]
    window.gkn.train_step()
    wait_for(qtbot, lambda: window.gkn.train_thread.finished, 10)
    settle(qtbot)
    assert "the job failed: training diverged" in window.last_error
    assert window.isVisible()
    with h5py.File(window.gkn.run_path, "r") as f:
        assert f["status"][0].decode() == "failed" and "diverged" in f["failure_reason"][0].decode()
        assert len(f["checkpoints/step"]) >= 1  # the last good weights were kept


def test_a_twin_of_another_depth_trains_beside_the_run(window, qtbot):
    use_preset(window, "1d", 300)
    window.views["1d"].twin_layers.setValue(2)
    window.views["1d"].twin_button.click()
    window.gkn.train_play()
    wait_for(qtbot, lambda: window.gkn.train_thread.finished and window.gkn.twin_thread.finished)
    settle(qtbot)
    window.tabs.setCurrentIndex(0)
    window.redraw(force=True)
    view = window.views["1d"]
    assert view.compare_panel.isVisible() and "L=2" in view.compare_panel.title
    twin_fx = view.compare_panel.fx_curve.getData()[1]
    np.testing.assert_array_equal(twin_fx, window.gkn.twin_state.latest_manifold.fx)
    assert not np.allclose(twin_fx, view.live_panel.fx_curve.getData()[1])  # two different models
    with h5py.File(
        window.twin_state_path if hasattr(window, "twin_state_path") else window.gkn.run_path, "r"
    ) as f:
        assert f["status"][0].decode() == "completed"


def test_a_sweep_folder_opens_in_the_sweeps_tab_and_a_point_opens_its_run(window, tmp_path):
    from app.labs import VIEWS
    from gkn_core.sweeps import build_spec, run_sweep

    spec = build_spec(
        {
            "kind": "gkn",
            "preset": "1d",
            "grid": {"model.layers": [2, 3]},
            "seeds": 1,
            "set": {"train": {"steps": 30, "manifold_every": 30}},
            "metrics": ["final_loss"],
        }
    )
    folder = tmp_path / "sweep"
    assert run_sweep(spec, folder, workers=0).completed == 2
    assert window.open_run_file(folder)  # a folder given where a run goes is taken for a sweep
    assert VIEWS[window.tabs.currentIndex()] == "sweep"
    view = window.views["sweep"]
    curve = view.curves[0]
    path = view.request_run(curve, 1)  # the point of layers=3: its run replays in the 1D view
    assert path is not None and VIEWS[window.tabs.currentIndex()] == "1d"
    assert window.gkn.run_path == Path(path) and window.gkn.state.steps.size == 30
    assert not window.open_sweep_folder(tmp_path / "runs-not-a-sweep")
    assert window.last_error
