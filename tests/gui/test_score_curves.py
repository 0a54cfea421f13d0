"""The class score by generation in the Kaleidoscope view (replayed and live) and the scores against
sampling time in the chaos training view, drawn from the numbers in the run file."""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import pytest
from helpers.waiting import HANG_GUARD, process_events, qt_wait_until

from app.labs import VIEWS
from gkn_core.chaos.config import chaos_preset_config
from gkn_core.chaos.runfile import SCORES_VS_TIME, write_score_times
from gkn_core.chaos.score_times import run_score_times
from gkn_core.chaos.sessions import chaos_training_session
from gkn_core.gkn.config import preset_config
from gkn_core.gkn.sessions import sampling_session, training_session

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def save_png(widget, name: str, tmp_path: Path) -> Path:
    """The widget as a PNG (GKN_TEST_PNGS=folder keeps it to look at)."""
    folder = Path(os.environ.get("GKN_TEST_PNGS", tmp_path))
    path = folder / name
    assert widget.grab().save(str(path))
    return path


def show(window, name: str) -> None:
    window.tabs.setCurrentIndex(VIEWS.index(name))
    window.redraw(force=True)


@pytest.fixture(scope="module")
def digits8_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("kaleido") / "digits8.h5"
    list(
        training_session(preset_config("digits8", {"train": {"steps": 300, "checkpoint_every": 300}}), path)[
            1
        ]
    )
    list(sampling_session(path, {"chains": 200, "steps": 30, "burn_in": 5})[1])
    return path


def test_replayed_kaleidoscope_draws_the_recorded_class_score(window, digits8_run, tmp_path):
    assert window.open_run_file(digits8_run), window.last_error
    show(window, "kaleidoscope")
    view = window.views["kaleidoscope"]
    with h5py.File(digits8_run, "r") as f:
        stored = f["sampling/0000/quality/class_score"][:]
        seen = f["sampling/0000/quality/classes_seen"][:]
    x, y = view.score_curve.getData()
    np.testing.assert_array_equal(x, np.arange(31))
    np.testing.assert_array_equal(y, stored)
    np.testing.assert_allclose(view.classes_curve.getData()[1], seen / 10)
    assert stored[-1] > 0.5 and "digit score by generation" in view.quality_plot.titleLabel.text
    window.gkn.generation_slider.setValue(12)
    window.redraw(force=True)
    assert view.generation_line.value() == 12
    save_png(view, "kaleidoscope-class-score.png", tmp_path)

    old = tmp_path / "old.h5"
    old.write_bytes(digits8_run.read_bytes())
    with h5py.File(old, "r+") as f:  # a run file from before samplings were scored
        del f["sampling/0000/quality"]
    assert window.open_run_file(old), window.last_error
    window.redraw(force=True)
    assert view.quality_plot.titleLabel.text == "no class score recorded"
    assert view.score_curve.getData()[0] is None or len(view.score_curve.getData()[0]) == 0


def test_live_sampling_draws_the_class_score_of_its_snapshots(window, digits8_run, qtbot, tmp_path):
    live = tmp_path / "live.h5"
    live.write_bytes(digits8_run.read_bytes())
    assert window.open_run_file(live), window.last_error
    show(window, "kaleidoscope")
    controls = window.gkn.controls
    controls.sample_steps.setValue(12)
    controls.burn_in.setValue(3)
    assert window.gkn.start_sampling(paused=False)
    qt_wait_until(qtbot, lambda: window.gkn.sample_thread.finished, HANG_GUARD)
    process_events(qtbot)
    window.redraw(force=True)
    view = window.views["kaleidoscope"]
    with h5py.File(live, "r") as f:
        stored = f["sampling/0001/quality/class_score"][:]
    x, y = view.score_curve.getData()
    assert len(stored) == 13 and x.tolist() == list(range(13))
    np.testing.assert_array_equal(y, stored)  # what the snapshots carried is what the file holds


@pytest.fixture(scope="module")
def chaos_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("times") / "chaos.h5"
    config = chaos_preset_config(
        "digits8",
        {
            "model": {"Nh": 30, "T": 20.0},
            "train": {"steps": 20, "metrics_every": 10, "lyapunov_every": None, "sample_every": 10},
        },
    )
    list(chaos_training_session(config, path)[1])
    return path


def test_chaos_view_shows_scores_against_sampling_time_when_the_run_has_them(window, chaos_run, tmp_path):
    assert window.open_run_file(chaos_run), window.last_error
    show(window, "chaos")
    panel = window.chaos.training_view.score_times
    assert not panel.isVisible()  # no measurement yet
    write_score_times(chaos_run, run_score_times(chaos_run, times=(5, 10, 20, 40, 80), n=300))
    assert window.open_run_file(chaos_run), window.last_error
    show(window, "chaos")
    assert panel.isVisible()
    with h5py.File(chaos_run, "r") as f:
        group = f[f"{SCORES_VS_TIME}/0000"]
        times, e2, aai = group["times"][:], group["E2"][:], group["AAI"][:]
        digits = group["class_score"][:]
    x, y = panel.curves["E2"].getData()
    np.testing.assert_allclose(10**x, times)  # a log10 x axis
    np.testing.assert_allclose(10**y, e2, rtol=1e-6)  # and log10 y for the distances
    np.testing.assert_allclose(panel.curves["AAI"].getData()[1], aai)
    np.testing.assert_allclose(panel.curves["class_score"].getData()[1], digits)
    assert all(line.value() == pytest.approx(np.log10(20.0)) for line in panel.t_lines)  # T marked
    save_png(window.chaos.training_view, "chaos-score-times.png", tmp_path)
