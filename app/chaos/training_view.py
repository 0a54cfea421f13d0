"""Chaos training view: a grid of fresh samples, the scores and the class score (digit or item score, as
the run's data has), the largest Lyapunov
exponent and the Hebbian gap against step; a step slider scrubs a replay (or the live run)."""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.chaos.score_times_panel import ScoreTimesPanel
from app.chaos.training_state import SCORES_SHOWN, ChaosTrainState
from app.views import cache_axes, legend_title, log_ticks, mosaic
from app.widgets import StepBar

GRID_COLUMNS = 8
MIN_INTERVAL_S = 0.5  # the per-step curve needs no 30 fps: each redraw holds the GIL from training
SCORE_PENS = {
    "E2": (31, 119, 180),
    "Es": (255, 127, 14),
    "ER": (44, 160, 44),
    "AAI": (214, 39, 40),
    "digit": (148, 103, 189),
}
SCORE_LABELS = {
    "E2": "E(2) covariance",
    "Es": "E(s) spectrum",
    "ER": "E(R) compression",
    "AAI": "AAI (0.5 ideal)",
    "digit": "digit score",
}


def _series_plot(graphics: pg.GraphicsLayoutWidget, row: int, title: str, left: str) -> pg.PlotItem:
    plot = graphics.addPlot(row=row, col=1, title=title)
    plot.setLabel("left", left)
    plot.getAxis("left").enableAutoSIPrefix(False)  # "x0.001" beside a score reads as a unit
    plot.getAxis("left").setWidth(56)  # a fixed width: new tick labels never re-lay out the whole figure
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")
    cache_axes(plot)
    return plot


class ChaosTrainingView(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.graphics = pg.GraphicsLayoutWidget()
        self.grid_plot = self.graphics.addPlot(row=0, col=0, rowspan=4, title="samples")
        self.grid_plot.setAspectLocked(True)
        self.grid_plot.invertY(True)
        self.grid_plot.hideAxis("left")
        self.grid_plot.hideAxis("bottom")
        self.grid_plot.setMouseEnabled(x=False, y=False)
        self.grid_image = pg.ImageItem(levels=(-1.0, 1.0))
        self.grid_plot.addItem(self.grid_image)

        self.errors_plot = _series_plot(self.graphics, 0, "distances to the data (log)", "score")
        self.errors_plot.setLogMode(y=True)
        self.errors_plot.getAxis("left").setStyle(maxTextLevel=0)  # ticks set by render (log_ticks)
        self.quality_plot = _series_plot(self.graphics, 1, "AAI, E(R) and digit score", "score")
        self._class_score_name = "digit score"
        self.lyapunov_plot = _series_plot(self.graphics, 2, "largest Lyapunov exponent", "per tau")
        self.gap_plot = _series_plot(self.graphics, 3, "clamped - free correlation gap", "RMS gap")
        self.gap_plot.setLabel("bottom", "training step")
        for plot in (self.errors_plot, self.quality_plot, self.lyapunov_plot):
            plot.setXLink(self.gap_plot)
        self.curves: dict[str, pg.PlotDataItem] = {}
        for name, colour in SCORE_PENS.items():
            plot = self.errors_plot if name in ("E2", "Es") else self.quality_plot
            self.curves[name] = plot.plot(
                pen=pg.mkPen(colour, width=2),
                symbol="o",
                symbolSize=5,
                symbolBrush=colour,
            )
        # The legends are in the titles: a legend box inside a plot covers its curves.
        for plot, title, names in (
            (self.errors_plot, "distances to the data (log)", ("E2", "Es")),
            (self.quality_plot, "AAI, E(R) and digit score", ("ER", "AAI", "digit")),
        ):
            plot.setTitle(legend_title(title, [(SCORE_LABELS[n], SCORE_PENS[n]) for n in names]))
        self.quality_plot.addItem(
            pg.InfiniteLine(0.5, angle=0, pen=pg.mkPen((214, 39, 40), style=Qt.PenStyle.DotLine))
        )
        self.lyapunov_plot.addItem(
            pg.InfiniteLine(0.0, angle=0, pen=pg.mkPen("k", style=Qt.PenStyle.DashLine))
        )
        self.lyapunov_curve = self.lyapunov_plot.plot(
            pen=pg.mkPen((23, 190, 207), width=2), symbol="o", symbolSize=6, symbolBrush=(23, 190, 207)
        )
        self.gap_curve = self.gap_plot.plot(pen=pg.mkPen((90, 90, 90), width=1))
        self.markers = []
        for plot in (self.errors_plot, self.quality_plot, self.lyapunov_plot, self.gap_plot):
            marker = pg.InfiniteLine(angle=90, pen=pg.mkPen((200, 0, 0, 120), width=1))
            marker.setVisible(False)
            plot.addItem(marker)
            self.markers.append(marker)
        self.graphics.ci.layout.setColumnStretchFactor(0, 3)
        self.graphics.ci.layout.setColumnStretchFactor(1, 4)

        # One step control for the grid and the markers on every curve, with a box for an exact step.
        self.step_bar = StepBar(
            "training step", "Step shown: its sample grid, and a marker on every curve; right end: the newest"
        )
        self.slider = self.step_bar.slider  # the index of the sample grid shown
        self.step_bar.changed.connect(lambda _: self._draw_grid(self._state, self._grid_index()))
        self.summary = QLabel("no chaos run yet: press Train (Space)")
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics, stretch=3)
        self.score_times = ScoreTimesPanel()  # shown when the run has scores against sampling time
        layout.addWidget(self.score_times, stretch=1)
        layout.addWidget(self.step_bar)
        layout.addWidget(self.summary)
        self._state: ChaosTrainState | None = None
        self._drawn = (-1, -1)
        self._counts = (-1, -1, -1)
        self._last_draw = 0.0
        self._gap_top = 0.0

    def render(self, state: ChaosTrainState) -> None:
        """Draw what changed: the measured series and the grid when a new point arrived, the per-step
        gap curve and the summary at most every MIN_INTERVAL_S (a live run sends 30 batches a second)."""
        if (id(state), state.version) == self._drawn:
            return
        new_run = self._state is not state
        self._drawn = (id(state), state.version)
        self._state = state
        now = time.monotonic()
        counts = (len(state.score_steps), len(state.lyapunov_steps), len(state.sample_grids))
        measured = new_run or counts != self._counts
        if not measured and now - self._last_draw < MIN_INTERVAL_S and state.steps.size < state.total_steps:
            return
        self._last_draw, self._counts = now, counts
        if new_run or self.score_times.record is not state.score_times:
            self.score_times.draw(state.score_times)
        if new_run:
            self._name_class_score(state.class_score_name)
            # A fixed step axis: an x range that grew with every step would re-tick all four linked plots.
            self.gap_plot.setXRange(0, max(1, state.total_steps), padding=0.02)
        gap = state.gap.values.astype(np.float32)
        self.gap_curve.setData(x=state.steps.values.astype(np.float32), y=gap)
        top = float(gap.max()) if gap.size else 0.0
        if new_run or top > self._gap_top:  # a y range that only grows: no re-ticking as the gap falls
            self._gap_top = max(top, 1e-6) * 1.1
            self.gap_plot.setYRange(0, self._gap_top, padding=0)
        self.summary.setText(self._summary(state))
        if not measured:
            return
        if new_run:
            self.slider.blockSignals(True)
            self.slider.setValue(self.slider.maximum())  # a new run starts at its newest step
            self.slider.blockSignals(False)
        self.step_bar.follow(list(state.sample_steps))
        x = np.asarray(state.score_steps, dtype=np.float32)
        for name, curve in self.curves.items():
            curve.setData(x=x, y=state.score(name).astype(np.float32))
        self._set_error_ticks(state)
        self.lyapunov_curve.setData(
            x=np.asarray(state.lyapunov_steps, np.float32), y=np.asarray(state.lyapunov, np.float32)
        )
        self._draw_grid(state, self._grid_index())

    def _set_error_ticks(self, state: ChaosTrainState) -> None:
        values = np.concatenate([state.score(n) for n in ("E2", "Es")]) if state.score_steps else np.array([])
        values = values[np.isfinite(values) & (values > 0)]
        if values.size:
            low, high = float(np.log10(values.min())), float(np.log10(values.max()))
            pad = max(0.05, 0.05 * (high - low))
            self.errors_plot.getAxis("left").setTicks([log_ticks(low - pad, high + pad), []])

    def _name_class_score(self, name: str) -> None:
        """Title and legend say which class score the `digit` series holds (digit or item score)."""
        if name == self._class_score_name:
            return
        self._class_score_name = name
        entries = [(SCORE_LABELS[n], SCORE_PENS[n]) for n in ("ER", "AAI")] + [(name, SCORE_PENS["digit"])]
        self.quality_plot.setTitle(legend_title(f"AAI, E(R) and {name}", entries))

    def _grid_index(self) -> int:
        return self.slider.value()

    def _draw_grid(self, state: ChaosTrainState | None, index: int) -> None:
        if state is None or not state.sample_grids or state.image_shape is None:
            self.grid_image.clear()
            for marker in self.markers:
                marker.setVisible(False)
            return
        index = min(index, len(state.sample_grids) - 1)
        images = state.sample_grids[index].reshape(-1, *state.image_shape)
        self.grid_image.setImage(mosaic(images, GRID_COLUMNS, -1.0), autoLevels=False, levels=(-1.0, 1.0))
        step = state.sample_steps[index]
        self.grid_plot.setTitle(f"{len(images)} fresh samples at step {step:,}")
        live_end = index == len(state.sample_grids) - 1
        for marker in self.markers:
            marker.setValue(step)
            marker.setVisible(not live_end)

    @staticmethod
    def _summary(state: ChaosTrainState) -> str:
        done = int(state.steps.values[-1]) if state.steps.size else 0
        parts = [f"step {done:,} / {state.total_steps:,}"]
        if state.score_steps:
            shown = {"digit": state.class_score_name}
            parts += [f"{shown.get(name, name)} {state.scores[name][-1]:.4g}" for name in SCORES_SHOWN]
        if state.lyapunov:
            parts.append(f"λmax {state.lyapunov[-1]:+.4f} per tau")
        return "   ".join(parts)

    def export_items(self) -> list[pg.PlotItem]:
        return [self.graphics.ci, self.errors_plot, self.quality_plot, self.lyapunov_plot, self.gap_plot]

    def grid_mosaic(self) -> np.ndarray | None:
        """The shown sample grid as one image in [-1, 1], for a PNG export."""
        state = self._state
        if state is None or not state.sample_grids or state.image_shape is None:
            return None
        index = min(self._grid_index(), len(state.sample_grids) - 1)
        return mosaic(state.sample_grids[index].reshape(-1, *state.image_shape), GRID_COLUMNS, -1.0)
