"""The Lyapunov view draws real snapshots of a small LyapunovAnalysisJob (offscreen, pytest-qt).

The spectrum is drawn at x = i / N with i = 1..k (1-based): a full spectrum ends at x = 1.
"""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from app.chaos.lyapunov_view import LyapunovState, LyapunovView
from app.export import export_plot
from gkn_core.chaos.analysis import LyapunovAnalysisJob, lyapunov_settings
from gkn_core.chaos.config import ChaosModelConfig
from gkn_core.chaos.models import build_chaos_model

NV = 16
MODEL = ChaosModelConfig(arch="restricted2", Nh=24, g=2.5, tau=2.0, dt=1.0, T=20.0)


@pytest.fixture(scope="module")
def snapshots(one_torch_thread):
    """Every snapshot of a quick real job: 40 units, 60 steps, a sweep at two gains."""
    model = build_chaos_model(MODEL, NV, "cpu", seed=0)
    settings = lyapunov_settings({"steps": 60, "g_values": [0.5, 3.0], "g_steps": 40})
    return list(LyapunovAnalysisJob(model, settings, NV, 0))


@pytest.fixture
def view(qtbot):
    widget = LyapunovView()
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    widget.show()
    return widget


def data(curve) -> tuple[np.ndarray, np.ndarray]:
    x, y = curve.getData()
    return (np.zeros(0), np.zeros(0)) if x is None else (x, y)


def test_renders_the_snapshots(view, snapshots):
    state = LyapunovState()
    state.add(snapshots[:1])  # after the spectrum only
    view.render(state)
    first = snapshots[0]
    x, y = data(view.spectrum_curve)
    np.testing.assert_array_equal(x, (np.arange(1, 41) / 40).astype(np.float32))
    np.testing.assert_array_equal(y, first.spectrum.astype(np.float32))
    assert x.dtype == np.float32 and len(data(view.local_curve)[0]) == 0 and len(data(view.g_curve)[0]) == 0
    assert not view.local_mean_line.isVisible()
    assert view.stage_label.text().startswith("spectrum  (1/4,")

    state.add(snapshots[1:])
    view.render(state)
    last = snapshots[-1]
    assert state.snapshot is last and state.version == 2
    np.testing.assert_array_equal(data(view.spectrum_curve)[1], last.spectrum.astype(np.float32))
    high, low = view.spread_high.getData()[1], view.spread_low.getData()[1]
    np.testing.assert_array_equal(high, (last.spectrum + last.spectrum_std).astype(np.float32))
    np.testing.assert_array_equal(low, (last.spectrum - last.spectrum_std).astype(np.float32))
    t, local = data(view.local_curve)
    np.testing.assert_array_equal(t, last.local_t.astype(np.float32))
    np.testing.assert_array_equal(local, last.local_largest.astype(np.float32))
    assert len(t) == 6 and t[-1] == pytest.approx(30.0)  # 6 windows of 10 steps of half a tau
    g, largest = data(view.g_curve)
    np.testing.assert_array_equal(g, np.float32([0.5, 3.0]))
    np.testing.assert_array_equal(largest, last.g_largest.astype(np.float32))
    assert view.local_mean_line.value() == pytest.approx(last.local_mean)
    assert view.network_g_line.value() == 2.5
    assert view.largest_label.text() == f"spectrum λ1 {last.spectrum[0]:+.4f} per tau"
    assert view.pr_label.text() == f"PR {last.participation_ratio:.2f}"
    assert view.ky_label.text() == f"KY {last.kaplan_yorke:.2f}"
    assert last.g_largest[0] < 0 < last.g_largest[1]  # so the sweep has crossed 0
    assert view.crossing_label.text() == f"λmax = 0 at g ≈ {last.g_crossing:.2f}"
    assert view.stage_label.text().startswith("done  (4/4,")


def test_draws_only_on_a_new_version_and_clears_on_reset(view, snapshots, monkeypatch):
    state = LyapunovState()
    state.add(snapshots)
    drawn = []
    original = view._draw
    monkeypatch.setattr(view, "_draw", lambda snap: (drawn.append(snap), original(snap)))
    view.render(state)
    view.render(state)
    assert drawn == [snapshots[-1]]
    state.add([])  # an empty batch changes nothing
    view.render(state)
    assert len(drawn) == 1
    state.reset()
    view.render(state)
    assert drawn[-1] is None and len(data(view.spectrum_curve)[0]) == 0 and len(data(view.g_curve)[0]) == 0
    assert view.largest_label.text() == "" and "Compute" in view.stage_label.text()


def test_compute_emits_the_settings_and_stop_while_busy(view, qtbot):
    view.exponents.setValue(10)
    view.steps.setValue(200)
    view.g_from.setValue(1.0)
    view.g_to.setValue(2.0)
    view.g_step.setValue(0.5)
    with qtbot.waitSignal(view.compute_requested, timeout=60_000) as emitted:
        qtbot.mouseClick(view.compute_button, Qt.MouseButton.LeftButton)
    raw = emitted.args[0]
    assert raw["exponents"] == 10 and raw["steps"] == 200 and raw["g_values"] == [1.0, 1.5, 2.0]
    settings = lyapunov_settings(raw)  # what the controller does with it
    assert settings.g_values == (1.0, 1.5, 2.0) and settings.chains == 4 and settings.transient is None
    view.exponents.setValue(0)
    assert view.settings()["exponents"] is None  # 0 in the spin: every unit up to 128

    view.set_busy(True)
    assert view.compute_button.text() == "Stop"
    with (
        qtbot.waitSignal(view.stop_requested, timeout=60_000),
        qtbot.assertNotEmitted(view.compute_requested),
    ):
        qtbot.mouseClick(view.compute_button, Qt.MouseButton.LeftButton)
    view.set_busy(False)
    assert view.compute_button.text() == "Compute"


def test_export_items_write_a_png(view, snapshots, tmp_path):
    state = LyapunovState()
    state.add(snapshots)
    view.render(state)
    items = view.export_items()
    assert items == [view.spectrum_plot, view.local_plot, view.g_plot]
    for name, item in zip(("spectrum", "local", "sweep"), items, strict=True):
        path = tmp_path / f"{name}.png"
        export_plot(item, path, width=600)
        assert path.stat().st_size > 1000
    export_plot(items[0], tmp_path / "spectrum.svg")
    assert "<svg" in (tmp_path / "spectrum.svg").read_text()
