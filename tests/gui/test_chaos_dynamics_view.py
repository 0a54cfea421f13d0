"""The Dynamics view drawing real trajectory snapshots: plot data, controls, scrubbing, animation export."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import imageio.v3 as iio
import numpy as np
import pyqtgraph as pg
import pytest
import torch
from helpers.waiting import qt_wait_until

from app.chaos.dynamics_view import DynamicsState, DynamicsView, export_animation, parse_units
from app.chaos.projection import rotate_for_display
from app.export import export_plot
from gkn_core.chaos.config import ChaosModelConfig
from gkn_core.chaos.models import build_chaos_model
from gkn_core.chaos.trajectories import TrajectoryJob, trajectory_settings
from gkn_core.errors import GKNError

pg.setConfigOptions(imageAxisOrder="row-major")  # as the app (and tests/gui/conftest.py) set it


@pytest.fixture(scope="module")
def snapshots() -> list:
    """7 snapshots (61 frames) of 3 chains of a real digits8-sized network at g = 1.5."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = build_chaos_model(ChaosModelConfig(Nh=30, g=1.5), 64, seed=0)
        settings = trajectory_settings({"chains": 3, "steps": 60, "fit_steps": 10, "chunk": 10})
        return list(TrajectoryJob(model, settings, "untrained", model_seed=0))
    finally:
        torch.set_num_threads(threads)


@pytest.fixture
def view(qtbot):
    widget = DynamicsView()
    qtbot.addWidget(widget)
    widget.set_image_shape((8, 8))
    widget.resize(1200, 800)
    widget.show()
    return widget


def state_of(snapshots: list) -> DynamicsState:
    state = DynamicsState()
    state.add(snapshots)
    return state


def throttled(qtbot, view, condition=lambda: True) -> None:
    """Wait until the settings throttle has run out (and `condition` holds): an event, not seconds."""
    qt_wait_until(qtbot, lambda: not view.throttle.isActive() and condition())


def test_every_panel_draws_the_snapshots(view, snapshots):
    state = state_of(snapshots[:2])  # 11 + 10 frames so far
    states = np.concatenate([s.states for s in snapshots[:2]], 1)
    t = np.concatenate([s.t for s in snapshots[:2]])
    assert state.n_frames == 21 and state.states.shape == (3, 21, 94)
    view.render(state)
    view.units.setText("0-1, 64")  # v0, v1 and h0
    view.chain.setValue(1)
    curves = view.time_panels.curves
    for curve, column in zip(curves, (0, 1, 64), strict=False):
        x, y = curve.getData()
        np.testing.assert_array_equal(x, t.astype(np.float32))
        np.testing.assert_array_equal(y, states[1, :, column])
    assert curves[3].getData()[0] is None or len(curves[3].getData()[0]) == 0
    title = view.traces_plot.getPlotItem().titleLabel.text
    assert title.startswith("traces of chain 1: ") and ">v0<" in title and ">h0<" in title
    np.testing.assert_array_equal(view.time_panels.image.image, states[1].T)
    assert view.time_panels.image.levels.tolist() == pytest.approx([-state.abs_max, state.abs_max])

    index = view.time_index
    assert index == 20  # the newest frame while the slider sits at its end
    projection = np.concatenate([s.projection for s in snapshots[:2]], 1)
    for chain in range(3):
        x, y = view.panel.curves[chain].getData()
        np.testing.assert_array_equal(x, projection[chain, :21, 0])
        np.testing.assert_array_equal(y, projection[chain, :21, 1])
    heads = view.panel.heads.getData()
    np.testing.assert_array_equal(heads[0], projection[:, 20, 0])

    rates = np.concatenate([s.rates for s in snapshots[:2]], 1)
    image = view.images.image.image  # 3 chains side by side, 8x8 each, 1-pixel gaps
    assert image.shape == (10, 28)
    for chain in range(3):
        block = image[1:9, 1 + 9 * chain : 9 + 9 * chain]
        np.testing.assert_array_equal(block, rates[chain, 20].reshape(8, 8))


def test_the_state_joins_snapshots_as_they_arrive(snapshots):
    state = DynamicsState()
    assert state.n_frames == 0 and state.states.size == 0
    seen = []
    for snap in snapshots:  # arrays asked for between deliveries: the buffers grow and stay right
        state.add([snap])
        seen.append(state.states)
    state.add([])
    expected = np.concatenate([s.states for s in snapshots], axis=1)
    np.testing.assert_array_equal(state.states, expected)
    np.testing.assert_array_equal(state.t, np.concatenate([s.t for s in snapshots]))
    np.testing.assert_array_equal(state.rates, np.concatenate([s.rates for s in snapshots], axis=1))
    np.testing.assert_array_equal(seen[1], expected[:, :21])  # earlier arrays are not overwritten
    assert state.n_frames == 61 and state.version == 1 + len(snapshots) and state.done
    assert not state.states.flags.writeable
    assert state.abs_max == pytest.approx(float(np.abs(expected).max()))


def test_render_redraws_only_on_a_new_version_and_follows_the_newest_frame(view, snapshots):
    state = state_of(snapshots[:1])
    view.render(state)
    curve = view.panel.curves[0]
    curve.setData([0.0], [0.0])  # a marker: an unchanged state must not be redrawn
    view.render(state)
    assert len(curve.getData()[0]) == 1
    state.add(snapshots[1:])
    view.render(state)
    assert view.time_index == 60 and len(curve.getData()[0]) == 61
    np.testing.assert_array_equal(view.time_panels.image.image, state.states[0].T)
    state.reset()
    view.render(state)
    assert view.time_index == 0 and not view.record_button.isEnabled()
    assert view.info.text() == "computing the trajectories ..."


def test_the_time_slider_scrubs_and_stays_put_while_frames_arrive(view, snapshots, qtbot):
    state = state_of(snapshots[:3])
    view.render(state)
    view.time_slider.setValue(7)
    rates, t = state.rates, state.t
    np.testing.assert_array_equal(view.images.image.image[1:9, 1:9], rates[0, 7].reshape(8, 8))
    assert view.time_panels.time_lines[0].value() == pytest.approx(t[7])
    assert len(view.panel.curves[2].getData()[0]) == 8
    assert view.time_label.text() == "t = 0.7 tau (frame 7)"
    state.add(snapshots[3:])
    view.render(state)
    assert view.time_index == 7 and view.time_slider.maximum() == 60
    view.time_slider.setValue(50)
    view.play_button.click()  # plays from the shown frame to the end, then stops by itself
    qt_wait_until(qtbot, lambda: not view.play_button.isChecked())
    assert view.time_index == 60 and view.follow_latest
    state.reset()
    state.add(snapshots)
    view.render(state)
    assert view.time_index == 60


def test_the_3d_view_rotates_the_three_components(view, snapshots):
    state = state_of(snapshots)
    view.render(state)
    view.mode.setCurrentText("3D")
    view.azimuth.setValue(75)
    screen = rotate_for_display(state.projection, 75.0)
    x, y = view.panel.curves[1].getData()
    np.testing.assert_allclose(x, screen[1, :, 0])
    np.testing.assert_allclose(y, screen[1, :, 1])
    # an orthographic view: turning keeps lengths in the PC1-PC2 plane and PC3 shrinks by cos(20°)
    up = rotate_for_display(np.array([0.0, 0.0, 1.0]), 75.0)
    np.testing.assert_allclose(up, [0.0, np.cos(np.radians(20))], atol=1e-7)
    assert not view.projection_plot.getPlotItem().getAxis("left").isVisible()
    assert "turned 75°" in view.projection_plot.getPlotItem().titleLabel.text


def test_controls_emit_throttled_settings(view, qtbot):
    seen: list[dict] = []
    view.settings_changed.connect(seen.append)
    for g in (1.1, 1.4, 1.75, 2.0):  # a drag: one emission, with where the slider ended
        view.g_slider.setValue(g)
    assert seen == []
    throttled(qtbot, view, lambda: seen)
    assert seen == [{"source": "untrained", "g": 2.0, "chains": 6, "steps": 400, "layers": "all"}]
    view.chains.setValue(9)
    view.source.setCurrentIndex(1)
    throttled(qtbot, view, lambda: len(seen) >= 2)
    assert seen[-1] == {"source": "trained", "g": 2.0, "chains": 9, "steps": 400, "layers": "all"}
    assert len(seen) == 2
    assert not view.g_slider.isEnabled()
    view.set_settings(source="untrained", g=0.8, steps=200)
    throttled(qtbot, view)
    assert len(seen) == 2 and view.g_slider.isEnabled() and view.settings()["g"] == 0.8
    with qtbot.waitSignal(view.record_requested, timeout=60_000):
        view.record_button.setEnabled(True)
        view.record_button.click()


def test_bad_unit_text_is_marked_and_keeps_the_last_choice(view, snapshots):
    view.render(state_of(snapshots))
    view.units.setText("2, 65")
    assert view._columns == [2, 65]
    for text in ("0-3, banana", "900", "5-2"):
        view.units.setText(text)  # redraws at once; must not raise
        assert "d62728" in view.units.styleSheet()
        assert view._columns == [2, 65]
    assert view.units.toolTip() == "'5-2' is not a range from low to high"
    view.units.setText("900")
    assert view.units.toolTip() == "unit 900 is not recorded"
    view.units.setText("")
    assert view.units.styleSheet() == "" and view._columns == [0, 1, 2, 3, 64, 65, 66, 67]


def test_parse_units_reads_indices_and_names():
    names = ("v0", "v1", "v2", "v3", "h1_0", "h1_1", "h1_2", "h2_0", "h2_1")
    units = np.arange(9)
    assert parse_units("v1-2 h1_0, 8", names, units) == [1, 2, 4, 8]
    assert parse_units("", names, units) == [0, 1, 2, 3, 4, 5, 6]
    recorded_hidden = np.array([4, 5, 6])  # only hidden1 recorded: numbers still index the state
    assert parse_units("5-6", names[4:7], recorded_hidden) == [1, 2]
    with pytest.raises(ValueError, match="unit v0 is not recorded"):
        parse_units("v0", names[4:7], recorded_hidden)


def test_animations_and_plot_exports(view, snapshots, tmp_path):
    state = state_of(snapshots)
    view.render(state)
    view.time_slider.setValue(30)
    count = export_animation(view, state, "images", tmp_path / "images.gif", max_frames=12)
    frames = iio.imread(tmp_path / "images.gif", index=None)
    assert count == 12 and frames.shape[0] == 12
    assert view.time_index == 30  # the shown time is restored
    assert export_animation(view, state, "projection", tmp_path / "p.gif", max_frames=100) == 61
    assert iio.imread(tmp_path / "p.gif", index=None).shape[0] == 61
    with pytest.raises(GKNError, match="'raster' is not one of images, projection"):
        export_animation(view, state, "raster", tmp_path / "r.gif")
    with pytest.raises(GKNError, match="no trajectories yet"):
        export_animation(view, DynamicsState(), "images", tmp_path / "e.gif")
    items = view.export_items()
    assert items[0] is view.projection_plot.getPlotItem() and len(items) == 4
    export_plot(items[0], tmp_path / "projection.png")
    export_plot(items[2], tmp_path / "raster.svg")
    assert iio.imread(tmp_path / "projection.png").shape[1] == 1600
    assert (tmp_path / "raster.svg").read_text().count("<svg") == 1
