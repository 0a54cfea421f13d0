"""The window never misleads (#18): each test first does what a new user did, as it was seen, then
checks what the window does now."""

from __future__ import annotations

import re

import imageio.v3 as iio
import numpy as np
import pytest
from PyQt6.QtCore import QSettings
from PyQt6.QtTest import QTest

from app.labs import VIEWS
from app.layout import default_runs_dir, export_name
from app.main_window import MainWindow
from gkn_core.cli import main as gkn_main


def wait_for(qtbot, condition, timeout_s: float = 120) -> None:
    qtbot.waitUntil(condition, timeout=int(timeout_s * 1000))


def show(window, name: str) -> None:
    window.tabs.setCurrentIndex(VIEWS.index(name))
    window.redraw(force=True)


def asked(window) -> list[str]:
    """Record every yes/no question (answered yes)."""
    questions: list[str] = []
    window.confirm = lambda q: questions.append(q) or True
    return questions


def train_gkn(window, qtbot, preset: str = "1d", steps: int = 30) -> None:
    c = window.gkn.controls
    c.preset.setCurrentText(preset)
    c.train_steps.setValue(steps)
    assert window.gkn.start_training(paused=False), window.last_error
    wait_for(qtbot, lambda: window.gkn.train_thread.finished)


def small_chaos(window, steps: int = 2) -> None:
    c = window.chaos.controls
    c.preset.setCurrentText("digits8")
    c.train_steps.setValue(steps)
    c.M.setValue(20)
    c.T.setValue(20.0)
    c.metrics_every.setValue(1)
    c.lyapunov_every.setValue(1)
    c.sample_every.setValue(0)


# -- 1. edited points were silently ignored ----------------------------------------------------------
def test_edited_points_drive_the_run_or_are_refused_on_the_spot(window, qtbot):
    c = window.gkn.controls
    c.preset.setCurrentText("1d")
    assert c.data.currentText() == "preset" and c.points.isEnabled()
    questions = asked(window)
    c.points.setFocus()
    c.points.selectAll()
    QTest.keyClicks(c.points, "abc")  # typed, as the user did
    assert c.data.currentText() == "points"  # the typed points are the data now
    assert c.points.property("invalid") and "d62728" in c.points.styleSheet()
    assert "cannot read 'abc'" in c.points.toolTip()
    assert not window.gkn.start_training(paused=True)
    assert window.last_error.startswith("points: cannot read 'abc'") and "--points" not in window.last_error
    assert questions == []
    c.points.selectAll()
    QTest.keyClicks(c.points, "0.1, 0.5, 0.9")
    assert not c.points.property("invalid") and c.problem is None
    assert window.gkn.start_training(paused=True), window.last_error
    assert window.gkn.train_thread.job.dataset.x.shape == (3, 1)  # not the preset's {0.2, 0.8}
    window.gkn.stop_jobs()
    c.data.setCurrentText("digits8")
    assert not c.points.isEnabled()  # shown, but it would not drive the run: greyed out


# -- 2. the Lyapunov tab did not say which network; its number disagreed -------------------------------
def test_one_largest_exponent_on_every_tab_and_in_the_cli(window, qtbot, capsys):
    lab = window.chaos
    small_chaos(window)
    assert lab.start_training(paused=False), window.last_error
    wait_for(qtbot, lambda: lab.train_thread.finished)
    wait_for(qtbot, lambda: len(lab.train_state.lyapunov) == 2)
    training = lab.train_state.lyapunov[-1]  # the training tab's exponent at checkpoint 2
    config = lab.train_thread.job.config
    show(window, "lyapunov")
    wait_for(qtbot, lambda: lab.dynamics_thread is not None)
    assert lab.dynamics_view.source.currentData() == "trained"  # the trained network, not the untrained
    view = lab.lyapunov_view
    view.exponents.setValue(1)
    view.g_from.setValue(1.5)
    view.g_to.setValue(1.5)
    assert view.steps.value() == config.train.lyapunov_steps and view.chains.value() == 4  # one default
    assert lab.start_lyapunov(view.settings()), window.last_error
    wait_for(qtbot, lambda: lab.lyapunov_thread.finished)
    window.redraw(force=True)
    estimate = lab.lyapunov_state.snapshot.largest
    assert abs(estimate.value - training) < 1e-9
    assert estimate.stderr > 0 and (estimate.steps, estimate.chains) == (200, 4)
    assert "trained, step 2" in view.network_label.text() and "g = 1.5" in view.network_label.text()
    assert f"seed {config.seed}" in view.network_label.text()
    shown = view.estimate_label.text()
    assert "±" in shown and "200 steps" in shown and "transient of 20" in shown and "4 chains" in shown

    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        gkn_main(["lyapunov", str(lab.run_path), "--exponents", "1"])
    output = capsys.readouterr().out
    assert exit_info.value.code in (0, None), output
    cli = float(re.search(r"largest exponent of .*?: ([+-]\d+\.\d+);", output).group(1))
    assert abs(cli - training) < 1e-9


# -- 3. stale context after a replay -------------------------------------------------------------------
def test_replay_sets_the_settings_and_the_status_names_the_run_in_front(window, qtbot):
    train_gkn(window, qtbot, "1d", 30)
    gkn_run = window.gkn.run_path
    c = window.gkn.controls
    c.preset.setCurrentText("digits8")  # the settings now describe another run
    assert c.hidden.value() != 10
    assert window.open_run_file(gkn_run), window.last_error
    assert (c.layers.value(), c.hidden.value(), c.preset.currentText()) == (7, 10, "1d")
    assert window.file_label.text() == f"replay: {gkn_run.name}"
    window.chaos.label_run("chaos-digits8-run.h5")
    show(window, "chaos")
    assert window.file_label.text() == "chaos-digits8-run.h5"  # the run of the lab in front
    show(window, "1d")
    assert window.file_label.text() == f"replay: {gkn_run.name}"
    # "job completed" is gone once a new job starts
    window.show_status("job completed", 60_000)
    assert window.gkn.start_training(paused=True), window.last_error
    assert "completed" not in window.statusBar().currentMessage()
    window.gkn.stop_jobs()


def test_hover_readout_resets_with_a_new_model(window, qtbot):
    train_gkn(window, qtbot, "1d", 20)
    show(window, "1d")
    panel = window.views["1d"].live_panel
    panel.readout.setText("x=0.500  f(x)=0.420  loss=1.0e-02")  # as left by the mouse
    assert window.gkn.start_training(paused=False), window.last_error
    wait_for(qtbot, lambda: bool(window.gkn.state.manifolds))
    window.redraw(force=True)
    assert panel.readout.textItem.toPlainText() == ""
    window.gkn.stop_jobs()


# -- 4. dynamics showed the untrained network; the g slider and the g field disagreed ------------------
def test_dynamics_show_the_trained_network_at_its_g(window, qtbot):
    lab = window.chaos
    small_chaos(window)
    lab.dynamics_view.set_settings(g=0.21)  # as seen: the slider somewhere else
    assert lab.start_training(paused=False), window.last_error
    wait_for(qtbot, lambda: lab.train_thread.finished)
    show(window, "dynamics")
    wait_for(qtbot, lambda: lab.dynamics_thread is not None)
    view = lab.dynamics_view
    assert view.source.currentData() == "trained"
    assert abs(view.g_slider.value() - 1.5) < 1e-9 and not view.g_slider.isEnabled()
    wait_for(qtbot, lambda: lab.dynamics_thread.finished)
    # untrained: the settings' g field and the slider are one value, both ways
    view.source.setCurrentIndex(view.source.findData("untrained"))
    view._emit_settings()
    lab.controls.g.setValue(2.0)
    assert abs(view.g_slider.value() - 2.0) < 1e-9
    view.g_slider.setValue(1.25)
    view._emit_settings()
    assert abs(lab.controls.g.value() - 1.25) < 1e-9
    lab.stop_jobs()


# -- 5. bad input in the wrong order -------------------------------------------------------------------
def test_bad_input_is_refused_before_any_question_and_named_as_shown(window, qtbot):
    train_gkn(window, qtbot, "1d", 20)
    c = window.gkn.controls
    questions = asked(window)
    c.lr.lineEdit().selectAll()
    QTest.keyClicks(c.lr.lineEdit(), "0")  # typed
    assert c.lr.value() == 0.0  # kept, not snapped back to 0.001
    assert c.lr.property("invalid") and "greater than 0" in c.lr.toolTip()
    old_run = window.gkn.run_path
    assert not window.gkn.start_training(paused=False)
    assert questions == [] and window.gkn.run_path == old_run  # no "discard?" for a refused input
    assert window.last_error.startswith("learning rate: ")
    chaos = window.chaos.controls
    chaos.k.setValue(0.0)
    assert not window.chaos.start_training(paused=False)
    assert window.last_error.startswith("rate k: ") and questions == []


def test_default_chaos_preset_fits_a_cpu_and_sparse_curves_are_hinted(window):
    c = window.chaos.controls
    assert c.preset.currentText() == "digits8"
    c.train_steps.setValue(200)  # as seen: scores every 250, exponent every 1000
    assert c.every_hint.isVisibleTo(c)
    assert "scores every 250: 2 points" in c.every_hint.text() and "at most 20" in c.every_hint.text()
    c.metrics_every.setValue(20)
    c.lyapunov_every.setValue(20)
    c.sample_every.setValue(40)
    assert not c.every_hint.isVisibleTo(c)


# -- exports: figures, and only those that fit ----------------------------------------------------------
def test_exports_fit_the_run_and_animations_are_figures(window, qtbot, tmp_path):
    train_gkn(window, qtbot, "1d", 20)
    window.gkn.controls.sample_steps.setValue(6)
    window.gkn.controls.chains.setValue(4)
    assert window.gkn.start_sampling(paused=False), window.last_error
    wait_for(qtbot, lambda: window.gkn.sample_thread.finished)
    show(window, "1d")
    offered = [spec.what for spec in window.offered_exports()]
    assert offered == ["plot", "chains", "animation"]  # no chaos exports, no image grid for 1D data
    spec = next(s for s in window.gkn.EXPORTS if s.what == "animation")
    assert export_name(window.gkn.run_path, spec) == f"{window.gkn.run_path.stem}-animation.gif"
    from app.animation import AnimationOptions

    gif = tmp_path / "sampling.gif"
    assert window.export("animation", gif, AnimationOptions(width=320, fps=5)), window.last_error
    wait_for(qtbot, lambda: window.gkn.animation.finished)
    frames = iio.imread(gif, index=None)
    assert frames.shape[0] == len(window.gkn.state.chains) and frames.shape[2] == 320  # the plot alone
    assert "saved to" in window.statusBar().currentMessage()


# -- 8. layout --------------------------------------------------------------------------------------------
def test_the_dock_keeps_its_width_and_a_broken_layout_is_not_restored(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(runs_dir=tmp_path / "runs", settings=settings)
    qtbot.addWidget(window)
    window.show()
    window.resize(640, 400)  # as seen: shrunk, then grown back
    qtbot.wait(50)
    window.resize(1400, 860)
    qtbot.wait(50)
    buttons = window.gkn.controls.train_buttons
    assert window.dock.width() >= window.dock_min_width
    assert buttons.reset_button.geometry().right() <= buttons.width()  # Train, Step, Reset not cut
    assert buttons.play_button.width() >= buttons.play_button.minimumSizeHint().width()
    window.close()
    settings.setValue("dock_width", 60)  # the broken layout seen at the next start
    again = MainWindow(runs_dir=tmp_path / "runs", settings=settings)
    qtbot.addWidget(again)
    assert not again.layout_restored
    again.show()
    qtbot.wait(50)
    assert again.dock.width() >= again.dock_min_width
    again.dock.setFloating(True)
    again.reset_layout()
    assert not again.dock.isFloating() and (again.width(), again.height()) == (1400, 860)
    again.close()
    assert str(default_runs_dir()).endswith("gkn-studio/runs") and " " not in str(default_runs_dir())


def test_the_comparison_fits_and_can_be_closed(window, qtbot):
    train_gkn(window, qtbot, "1d", 20)
    show(window, "1d")
    view = window.views["1d"]
    with_run = window.gkn.run_path
    assert window.compare_run_file(with_run), window.last_error
    qtbot.wait(50)
    assert view.compare_panel.isVisible() and view.close_compare_button.isVisible()
    right = view.compare_panel.geometry().right()
    assert right <= view.width()  # not cut at the default width
    view.close_compare_button.click()
    assert not view.compare_panel.isVisible() and window.gkn.twin_state is None
    np.testing.assert_array_equal(view.live_panel.fx_curve.getData()[0], window.gkn.state.manifolds[-1].x)
