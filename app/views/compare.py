"""Compare view: the scalar curves of any number of runs (gkn, chaos or both) overlaid, one colour per run.

One plot per metric shown (a metric only some runs have is drawn for those; a run without it has no
curve there, not an error). The legend, above the plots so it never covers a curve, names each run by
the settings that differ between the runs. Smoothing is TensorBoard's debiased EMA, computed on the raw
values; the raw curve stays faint behind the smoothed one. The x axis is the step or the wall time, the
y axis linear or log. Plots and curves are created when the set of runs changes; the smoothing, axis and
log controls only set their data.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.views import PALETTE, cache_axes
from gkn_core.errors import GKNError
from gkn_core.runs.scalars import RunScalars, differing_settings, ema, load_scalars, run_label

# The metrics worth a plot, in their order; others a run has are listed after them.
PREFERRED = ("loss", "best_loss", "E2", "Es", "ER", "AAI", "digit", "lyapunov", "gap")
HIDDEN_BY_DEFAULT = ("best_loss", "free_activity", "AAI_data", "AAI_gen", "digit_entropy")
COLUMNS = 3
TITLES = {
    "loss": "training loss",
    "best_loss": "best loss",
    "lyapunov": "largest Lyapunov exponent (per tau)",
}


def run_colour(index: int) -> tuple[int, int, int]:
    if index < len(PALETTE):
        return PALETTE[index]
    colour = pg.intColor(index, hues=13)
    return colour.red(), colour.green(), colour.blue()


def metric_order(runs: list[RunScalars]) -> list[str]:
    present = {m for run in runs for m in run.series}
    return [m for m in PREFERRED if m in present] + sorted(present - set(PREFERRED))


class CompareView(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.runs: list[RunScalars] = []
        self.paths: list[Path] = []
        self.labels: list[str] = []
        self.metrics: list[str] = []
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[tuple[int, str], tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}

        self.smoothing = QSlider(Qt.Orientation.Horizontal)
        self.smoothing.setRange(0, 99)
        self.smoothing.setValue(60)
        self.smoothing.setToolTip("EMA smoothing weight (0 = raw), computed on the raw values")
        self.smoothing_label = QLabel()
        self.axis = QComboBox()
        self.axis.addItems(["step", "wall time"])
        self.axis.setToolTip("x axis: training step, or seconds since the run started")
        self.log_box = QCheckBox("log y")
        self.log_box.setToolTip("Logarithmic y axes (values <= 0 are left out)")
        self.metric_button = QToolButton()
        self.metric_button.setText("metrics")
        self.metric_button.setToolTip("Which metrics get a plot")
        self.metric_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.metric_button.setMenu(QMenu(self.metric_button))
        self.chosen: dict[str, bool] = {}  # metric -> shown, as the user left it
        self.reload_button = QPushButton("Reload")
        self.reload_button.setToolTip("Read the runs again (runs still being written grow)")
        self.reload_button.clicked.connect(self.reload)
        self.smoothing.valueChanged.connect(self._on_smoothing)
        self.axis.currentIndexChanged.connect(lambda _: self.redraw())
        self.log_box.toggled.connect(self._on_log)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("smoothing"))
        bar.addWidget(self.smoothing, stretch=1)
        bar.addWidget(self.smoothing_label)
        bar.addWidget(QLabel("x axis"))
        bar.addWidget(self.axis)
        bar.addWidget(self.log_box)
        bar.addWidget(self.metric_button)
        bar.addWidget(self.reload_button)

        self.legend = QLabel("no runs to compare: select several in the Runs tab and press Compare")
        self.legend.setWordWrap(True)
        self.legend.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.graphics = pg.GraphicsLayoutWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.legend)
        layout.addWidget(self.graphics, stretch=1)
        self._on_smoothing(self.smoothing.value())

    # -- what is compared --------------------------------------------------------------------------
    def open_paths(self, paths: list[str | Path]) -> None:
        """Read the runs (raises GKNError naming a file that is not a run) and show them."""
        runs = [load_scalars(path) for path in paths]
        if not runs:
            raise GKNError("no runs to compare")
        self.paths = [Path(p) for p in paths]
        self.set_runs(runs)

    def reload(self) -> None:
        if self.paths:
            self.set_runs([load_scalars(path) for path in self.paths], keep_layout=True)

    def set_runs(self, runs: list[RunScalars], keep_layout: bool = False) -> None:
        same = keep_layout and [r.path for r in runs] == [r.path for r in self.runs]
        old_metrics = metric_order(self.runs)
        self.runs = runs
        keys = differing_settings(runs)
        self.labels = [run_label(run, keys) for run in runs]
        same = same and all(
            (r, m) in self.curves for r, run in enumerate(runs) for m in run.series if m in self.metrics
        )
        if not same or metric_order(runs) != old_metrics:
            self._build_plots()
        self._write_legend()
        self.redraw()

    def _build_plots(self) -> None:
        self.graphics.clear()
        self.plots.clear()
        self.curves.clear()
        present = metric_order(self.runs)
        for metric in present:
            self.chosen.setdefault(metric, metric not in HIDDEN_BY_DEFAULT)
        self.metrics = [m for m in present if self.chosen[m]]
        menu = self.metric_button.menu()
        menu.clear()
        for metric in present:
            action = menu.addAction(metric)
            action.setCheckable(True)
            action.setChecked(self.chosen[metric])
            action.toggled.connect(lambda on, m=metric: self.show_metric(m, on))
        for i, metric in enumerate(self.metrics):
            plot = self.graphics.addPlot(row=i // COLUMNS, col=i % COLUMNS, title=TITLES.get(metric, metric))
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.getAxis("left").setStyle(maxTextLevel=1)  # fewer labels: none collide on a log axis
            cache_axes(plot)
            self.plots[metric] = plot
            for r, run in enumerate(self.runs):
                if metric not in run.series:
                    continue  # a metric this run's kind lacks: no curve
                colour = run_colour(r)
                raw = plot.plot(pen=pg.mkPen((*colour, 60), width=1))
                smooth = plot.plot(pen=pg.mkPen(colour, width=2))
                self.curves[(r, metric)] = (raw, smooth)
        self._on_log(self.log_box.isChecked(), redraw=False)

    def show_metric(self, metric: str, on: bool) -> None:
        """Give a metric a plot (or take it away)."""
        self.chosen[metric] = on
        self._build_plots()
        self.redraw()

    def _write_legend(self) -> None:
        spans = []
        for r, (run, label) in enumerate(zip(self.runs, self.labels, strict=True)):
            colour = "#{:02x}{:02x}{:02x}".format(*run_colour(r))
            spans.append(
                f'<span style="color:{colour}">&#9632; {html.escape(label)}</span>'
                f' <span style="color:#777">({html.escape(run.path.name)})</span>'
            )
        self.legend.setText("&nbsp;&nbsp;&nbsp;".join(spans) if spans else "no runs")

    def legend_entries(self) -> list[str]:
        return list(self.labels)

    # -- drawing -----------------------------------------------------------------------------------
    @property
    def weight(self) -> float:
        return self.smoothing.value() / 100.0

    def _on_smoothing(self, value: int) -> None:
        self.smoothing_label.setText(f"{value / 100:.2f}")
        self.redraw()

    def _on_log(self, on: bool, redraw: bool = True) -> None:
        for plot in self.plots.values():
            plot.setLogMode(y=on)
        if redraw:
            self.redraw()

    def curve_data(self, run_index: int, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """x, raw y and smoothed y of one curve as drawn (before any log scaling)."""
        series = self.runs[run_index].series[metric]
        wall = self.axis.currentIndex() == 1 and np.isfinite(series.wall_time).any()
        x = series.wall_time if wall else series.step.astype(np.float64)
        raw = series.value
        smooth = ema(raw, self.weight)
        if self.log_box.isChecked():
            raw = np.where(raw > 0, raw, np.nan)
            smooth = np.where(smooth > 0, smooth, np.nan)
        return x, raw, smooth

    def redraw(self) -> None:
        wall = self.axis.currentIndex() == 1
        for (r, metric), (raw_curve, smooth_curve) in self.curves.items():
            x, raw, smooth = self.curve_data(r, metric)
            raw_curve.setData(x, raw, connect="finite")
            smooth_curve.setData(x, smooth, connect="finite")
        for plot in self.plots.values():
            plot.setLabel("bottom", "wall time (s)" if wall else "step")

    def export_items(self) -> list:
        return [self.graphics.ci, *self.plots.values()]
