"""The sweep view draws the table's mean and std over seeds, and a click on a point opens its run."""

from __future__ import annotations

import csv
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import numpy as np
import pytest

pytest.importorskip("PyQt6")

from PyQt6.QtCore import Qt

from app.views.sweep import SweepView
from gkn_core.errors import GKNError
from gkn_core.sweeps import build_spec, run_sweep

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory):
    """8 short 1d runs: layers x lr, 2 seeds, run in this process."""
    spec = build_spec(
        {
            "kind": "gkn",
            "preset": "1d",
            "grid": {"model.layers": [2, 4], "train.lr": [0.001, 0.003]},
            "seeds": 2,
            "set": {"train": {"steps": 60, "manifold_every": 60}},
            "metrics": ["final_loss", "best_loss"],
        }
    )
    folder = tmp_path_factory.mktemp("sweep-view") / "sweep"
    assert run_sweep(spec, folder, workers=0).completed == 8
    return folder


@pytest.fixture
def view(qtbot, sweep_folder):
    widget = SweepView()
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    widget.show()
    widget.open_folder(sweep_folder)
    return widget


def table_means(folder, metric):
    """(lr, layers) -> (mean, std) over seeds, straight from summary.csv."""
    with open(folder / "summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    cells: dict[tuple[float, int], list[float]] = {}
    for row in rows:
        cells.setdefault((float(row["train.lr"]), int(row["model.layers"])), []).append(float(row[metric]))
    return {k: (np.mean(v), np.std(v, ddof=1)) for k, v in cells.items()}


def test_curves_are_the_mean_and_std_over_seeds(view, sweep_folder):
    view.set_selection("best_loss", "model.layers", log_x=False, log_y=False)
    expected = table_means(sweep_folder, "best_loss")
    assert [c.label for c in view.curves] == ["lr=0.001", "lr=0.003"]
    for item, bars, lr in zip(view.curve_items, view.error_items, (0.001, 0.003), strict=False):
        x, y = item.getData()
        assert x.tolist() == [2.0, 4.0]
        assert y == pytest.approx([expected[(lr, 2)][0], expected[(lr, 4)][0]])
        assert bars.opts["top"] == pytest.approx([expected[(lr, 2)][1], expected[(lr, 4)][1]])
        assert bars.opts["bottom"] == pytest.approx(bars.opts["top"])
    assert view.plot.getAxis("left").labelText == "best_loss"


def test_log_axes_show_the_same_numbers_in_decades(view, sweep_folder):
    view.set_selection("final_loss", "train.lr", log_x=True, log_y=True)
    expected = table_means(sweep_folder, "final_loss")
    assert [c.label for c in view.curves] == ["layers=2", "layers=4"]
    x, y = view.curve_items[1].getData()
    assert x == pytest.approx(np.log10([0.001, 0.003]))
    assert y == pytest.approx(np.log10([expected[(0.001, 4)][0], expected[(0.003, 4)][0]]))
    assert view.plot.getAxis("left").logMode
    # Few swept values: each is a tick, labelled as swept, at its decade position.
    ticks = view.plot.getAxis("bottom")._tickLevels[0]
    assert ticks == [(pytest.approx(-3.0), "0.001"), (pytest.approx(np.log10(0.003)), "0.003")]


def test_clicking_a_point_opens_that_points_run(qtbot, view, sweep_folder):
    view.set_selection("best_loss", "model.layers", log_x=False, log_y=False)
    item = view.curve_items[1]  # lr = 0.003
    spot = item.scatter.points()[1]  # layers = 4
    with qtbot.waitSignal(view.run_requested, timeout=60_000) as signal:
        item.sigPointsClicked.emit(item, [spot], None)
    assert signal.args == [str((sweep_folder / "runs" / "0006_layers=4_lr=0.003_seed=0.h5").resolve())]
    view.seed_box.setCurrentIndex(1)
    with qtbot.waitSignal(view.run_requested, timeout=60_000) as signal:
        item.sigPointsClicked.emit(item, [spot], None)
    assert signal.args[0].endswith("0007_layers=4_lr=0.003_seed=1.h5")
    assert "opening seed 1" in view.status.text()


def test_items_are_made_once_and_reused(view):
    items = list(view.curve_items)
    view.set_selection("final_loss", "train.lr")
    view.set_selection("best_loss", "model.layers")
    assert view.curve_items == items and len(items) == 2
    view.set_selection("best_loss", "model.layers", compare="final_loss")
    view.set_selection("final_loss", "train.lr", compare="best_loss")
    assert view.curve_items[:2] == items and len(view.curve_items) == 4


def test_export_and_a_folder_that_is_no_sweep(view, tmp_path):
    view.export_png(tmp_path / "plot.png", width=640)
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(GKNError, match="is not a sweep folder"):
        view.open_folder(tmp_path)


def test_a_second_metric_is_drawn_dashed_on_the_same_axes(view, sweep_folder):
    view.set_selection("best_loss", "model.layers", log_x=False, log_y=False, compare="final_loss")
    expected = table_means(sweep_folder, "final_loss")
    assert len(view.curves) == 4  # two lr curves of each metric
    dashed = view.curve_items[2]
    assert dashed.opts["pen"].style() == Qt.PenStyle.DashLine
    assert view.curve_items[0].opts["pen"].style() == Qt.PenStyle.SolidLine
    assert dashed.getData()[1] == pytest.approx([expected[(0.001, 2)][0], expected[(0.001, 4)][0]])
    view.set_selection("best_loss", "model.layers")  # compare back to nothing: two curves again
    assert len(view.curves) == 2 and not view.curve_items[2].isVisible()
