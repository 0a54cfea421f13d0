"""The Compare view, the runs table, one step everywhere, Help and the first start (#16), asserted on
what is drawn: curve data, legend text, slider positions, table rows."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QStyle

from app import run_actions
from app.labs import VIEWS
from gkn_core.chaos.config import chaos_preset_config
from gkn_core.chaos.sessions import chaos_training_session
from gkn_core.gkn.config import preset_config
from gkn_core.gkn.sessions import training_session
from gkn_core.runs.reader import open_run
from gkn_core.runs.scalars import ema


def train_gkn(path, layers, steps=60):
    config = preset_config(
        "1d", {"model": {"layers": layers}, "train": {"steps": steps, "manifold_every": 20}}
    )
    _, snapshots = training_session(config, path)
    list(snapshots)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare")
    train_gkn(folder / "deep.h5", 5)
    train_gkn(folder / "shallow.h5", 2)
    config = chaos_preset_config(
        "digits8",
        {"model": {"Nh": 20, "T": 20.0}, "train": {"steps": 6, "metrics_every": 3, "lyapunov_every": 3,
                                                    "sample_every": 3}},
    )  # fmt: skip
    _, snapshots = chaos_training_session(config, folder / "chaos.h5")
    list(snapshots)
    return folder


def test_compare_overlays_runs_of_both_kinds_with_a_legend_of_what_differs(window, runs):
    paths = [runs / "deep.h5", runs / "shallow.h5", runs / "chaos.h5"]
    assert run_actions.compare_runs(window, paths), window.last_error
    assert VIEWS[window.tabs.currentIndex()] == "compare"
    view = window.views["compare"]
    assert view.legend_entries() == ["kind=gkn layers=5", "kind=gkn layers=2", "kind=chaos"]
    assert "layers=5" in view.legend.text() and "deep.h5" in view.legend.text()
    assert "loss" in view.plots and "E2" in view.plots and "lyapunov" in view.plots
    assert (2, "loss") not in view.curves  # the chaos run has no loss: no curve, no error
    assert (0, "E2") not in view.curves
    with open_run(runs / "deep.h5") as run:
        loss = run.train_metrics()["loss"]
    raw, smooth = view.curves[(0, "loss")]
    view.smoothing.setValue(0)
    np.testing.assert_allclose(smooth.getData()[1], loss)
    view.smoothing.setValue(90)
    x, y_raw = raw.getData()
    np.testing.assert_array_equal(x, np.arange(1, 61))
    np.testing.assert_allclose(y_raw, loss)  # the raw curve stays, faint, behind
    np.testing.assert_allclose(smooth.getData()[1], ema(loss, 0.9))
    assert raw.opts["pen"].color().alpha() < smooth.opts["pen"].color().alpha()
    assert smooth is view.curves[(0, "loss")][1]  # the same items: only their data changed
    view.axis.setCurrentIndex(1)
    assert view.plots["loss"].getAxis("bottom").labelText == "wall time (s)"
    assert raw.getData()[0][-1] < 60  # seconds, not steps
    view.log_box.setChecked(True)
    assert view.plots["loss"].ctrl.logYCheck.isChecked()


def test_compare_a_folder_and_choose_metrics(window, runs):
    assert window.open_run_file(runs), window.last_error  # a folder of runs (no sweep.json): compare
    view = window.views["compare"]
    assert len(view.runs) == 3
    shown = len(view.plots)
    view.show_metric("gap", False)
    assert "gap" not in view.plots and len(view.plots) == shown - 1


def test_runs_table_sorts_filters_and_replays(window, runs, qtbot):
    table = window.views["runs"]
    table.show_runs([str(runs / name) for name in ("deep.h5", "shallow.h5", "chaos.h5")])
    assert len(table.row_paths()) == 3
    header = table.table.horizontalHeader()
    header.setSortIndicator(4, Qt.SortOrder.AscendingOrder)  # steps, as numbers
    steps = [table.proxy.index(r, 4).data() for r in range(3)]
    assert steps == ["6", "60", "60"]
    table.filter_box.setText("layers=5")
    assert [os.path.basename(p) for p in table.row_paths()] == ["deep.h5"]
    table.filter_box.setText("kind=chaos")
    assert [os.path.basename(p) for p in table.row_paths()] == ["chaos.h5"]
    assert "E2" in table.proxy.index(0, 5).data()  # the best scores of a chaos run
    table.filter_box.setText("")
    table.select_rows([0, 1])
    with qtbot.waitSignal(table.compare_selected) as signal:
        table.compare_many_button.click()
    assert len(signal.args[0]) == 2
    row = next(r for r in range(3) if table.proxy.index(r, 7).data() == "deep.h5")
    table.table.doubleClicked.emit(table.proxy.index(row, 2))
    assert window.file_label.text() == "replay: deep.h5"


def test_runs_table_follows_a_run_being_written(window, tmp_path):
    table = window.views["runs"]
    table.set_folder(tmp_path)
    assert table.row_paths() == []
    train_gkn(tmp_path / "new.h5", 2, steps=20)
    table.refresh()  # what the timer does every 2 s while the tab is shown
    assert [os.path.basename(p) for p in table.row_paths()] == ["new.h5"]
    stamp = table.stamps[table.row_paths()[0]]
    table.refresh()
    assert table.stamps[table.row_paths()[0]] == stamp  # unchanged files are not read again


def test_one_step_moves_every_view_of_a_replay(window, runs):
    assert window.open_run_file(runs / "deep.h5")
    lab = window.gkn
    window.redraw(force=True)
    bar = lab.step_bar
    assert bar.steps == [1, 20, 40, 60] and bar.box.value() == 60
    bar.box.setValue(45)  # typed: the recorded step at or before it
    assert bar.slider.value() == 2 and bar.box.value() == 40
    window.show_view("1d")
    window.redraw(force=True)
    assert "step 40" in window.views["1d"].live_panel.output.titleLabel.text
    window.show_view("loss")
    window.redraw(force=True)
    marker = window.views["loss"].marker
    assert marker.isVisible() and marker.value() == 40
    bar.slider.setValue(bar.slider.maximum())
    window.redraw(force=True)
    assert not marker.isVisible()  # at the right end: the newest, no marker


def test_the_kaleidoscope_has_one_generation_control(window):
    view = window.views["kaleidoscope"]
    assert not hasattr(view, "slider")
    assert window.gkn.generation_slider is not None


def test_chaos_step_bar_moves_the_grid_and_every_marker(window, runs):
    assert window.open_run_file(runs / "chaos.h5"), window.last_error
    window.redraw(force=True)
    view = window.chaos.training_view
    assert view.step_bar.steps == [1, 3, 6]
    view.step_bar.box.setValue(4)
    assert view.slider.value() == 1
    assert all(m.value() == 3 and m.isVisible() for m in view.markers)
    assert "at step 3" in view.grid_plot.titleLabel.text


def test_transport_buttons_use_qt_icons_and_the_help_menu(window):
    buttons = window.gkn.controls.train_buttons
    assert not buttons.play_button.icon().isNull()
    assert "⏸" not in buttons.play_button.text() and "▶" not in buttons.play_button.text()
    buttons.show_running(True)
    pause = window.style().standardIcon(QStyle.StandardPixmap.SP_MediaPause)
    assert buttons.play_button.icon().cacheKey() == buttons.icons["SP_MediaPause"].cacheKey()
    assert not pause.isNull()
    buttons.show_running(False)
    window.help_actions["Cite the papers (BibTeX)"].trigger()
    text = window.last_dialog.findChild(type(window.last_dialog.children()[1])).toPlainText()
    assert "arXiv:2402.11793" in text and "arXiv:2405.10822" in text and "@article{" in text
    window.last_dialog.close()
    window.help_actions["Keyboard shortcuts"].trigger()
    assert "Space" in window.last_dialog.findChildren(type(window.last_dialog.children()[1]))[0].toPlainText()
    window.last_dialog.close()


def test_first_start_shows_the_training_data_and_what_to_press(window):
    window.show_view("1d")
    window.redraw(force=True)
    panel = window.views["1d"].live_panel
    x, _ = panel.output_points.getData()
    np.testing.assert_allclose(sorted(x), [0.2, 0.8])
    assert "press Train (Space)" in panel.output.titleLabel.text


def test_save_settings_then_train_again(window, runs, tmp_path):
    path = tmp_path / "mine.toml"
    window.gkn.controls.layers.setValue(4)
    window.show_view("1d")
    assert run_actions.save_settings_to(window, path), window.last_error
    assert "layers = 4" in path.read_text()
    assert run_actions.train_again(window, runs / "shallow.h5"), window.last_error
    assert window.gkn.controls.layers.value() == 2
    assert window.gkn.train_thread.job.config.model.layers == 2
    window.gkn.stop_jobs()


def test_export_scalars_from_the_app(window, runs, tmp_path):
    out = tmp_path / "s.csv"
    assert run_actions.export_scalars_to(window, [runs / "deep.h5", runs / "chaos.h5"], out), (
        window.last_error
    )
    header = out.read_text().splitlines()[0]
    assert header.startswith("run,kind,step,wall_time,metric,value")
    assert not run_actions.export_scalars_to(window, [runs / "deep.h5"], tmp_path / "s.xlsx")
    assert "csv or .parquet" in window.last_error
