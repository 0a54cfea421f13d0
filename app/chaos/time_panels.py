"""The time panels of the Dynamics view: activity traces of chosen units and the raster (units x time)
of one chain, over the same time range, each with a line at the time shown elsewhere."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, Qt

from app.chaos.dynamics_state import MAX_TRACES, DynamicsState, layer_of
from app.views import cache_axes

RASTER_COLOURS = "CET-D1"  # diverging blue-white-red: the sign of a state reads at a glance


def plot_widget(title: str) -> pg.PlotWidget:
    widget = pg.PlotWidget(title=title)
    cache_axes(widget.getPlotItem())
    widget.getPlotItem().getAxis("left").enableAutoSIPrefix(False)
    return widget


class TimePanels:
    def __init__(self) -> None:
        self.traces_plot, self.raster_plot = plot_widget("traces"), plot_widget("raster")
        traces, raster = self.traces_plot.getPlotItem(), self.raster_plot.getPlotItem()
        traces.setLabel("left", "state x")
        traces.setLabel("bottom", "time (tau)")
        traces.showGrid(x=True, y=True, alpha=0.2)
        raster.setLabel("bottom", "time (tau)")
        raster.setLabel("left", "unit")
        raster.invertY(True)  # the first unit at the top, as in a spike raster
        self.curves: list[pg.PlotDataItem] = []
        self.image = pg.ImageItem()
        raster.addItem(self.image)
        self.colour_bar = pg.ColorBarItem(
            values=(-1, 1),
            colorMap=pg.colormap.get(RASTER_COLOURS),
            interactive=False,
            width=12,
            label="state x",
        )
        self.colour_bar.setImageItem(self.image, insert_in=raster)
        self.time_lines = [pg.InfiniteLine(0, pen=pg.mkPen((90, 90, 90), width=1)) for _ in range(2)]
        traces.addItem(self.time_lines[0])
        raster.addItem(self.time_lines[1])
        self.layer_lines: list[pg.InfiniteLine] = []
        self._time_range: tuple[float, float] | None = None

    def clear(self) -> None:
        for curve in self.curves:
            curve.setData([], [])
        self.image.clear()

    def draw(self, state: DynamicsState, chain: int, columns: list[int]) -> None:
        self._draw_traces(state, chain, columns)
        self._draw_raster(state, chain)
        # The same time range in both, set rather than linked: a linked range is aligned by screen
        # position, which the raster's colour bar would shift.
        t0, t1 = float(state.t[0]), float(state.t[-1])
        if (t0, t1) != self._time_range:
            self._time_range = (t0, t1)
            for widget in (self.traces_plot, self.raster_plot):
                widget.getPlotItem().setXRange(t0, max(t1, t0 + 1e-3), padding=0.01)

    def set_time(self, t: float) -> None:
        for line in self.time_lines:
            line.setValue(t)

    def _draw_traces(self, state: DynamicsState, chain: int, columns: list[int]) -> None:
        names = state.latest.unit_names
        plot = self.traces_plot.getPlotItem()
        while len(self.curves) < len(columns):
            colour = pg.intColor(len(self.curves), hues=min(MAX_TRACES, 8), maxValue=210)
            self.curves.append(plot.plot(pen=pg.mkPen(colour, width=1.5)))
        t = state.t.astype(np.float32)
        spans = []
        for curve, column in zip(self.curves, columns, strict=False):
            curve.setData(t, state.states[chain, :, column])
            colour = curve.opts["pen"].color().name()
            spans.append(f'<span style="color:{colour}">{names[column]}</span>')
        for curve in self.curves[len(columns) :]:
            curve.setData([], [])
        plot.setTitle(f"traces of chain {chain}: " + " ".join(spans))

    def _draw_raster(self, state: DynamicsState, chain: int) -> None:
        t, units = state.t, state.states.shape[2]
        step = float(t[1] - t[0]) if len(t) > 1 else 1.0
        level = max(state.abs_max, 1e-6)  # symmetric and only growing: colours keep their meaning
        self.image.setImage(state.states[chain].T, autoLevels=False, levels=(-level, level))
        self.image.setRect(QRectF(float(t[0]) - step / 2, 0.0, step * len(t), float(units)))
        self.colour_bar.setLevels((-level, level))
        plot = self.raster_plot.getPlotItem()
        plot.setTitle(f"raster of chain {chain}: states of the {units} recorded units")
        names = state.latest.unit_names
        starts = [c for c in range(units) if c == 0 or layer_of(names[c]) != layer_of(names[c - 1])]
        plot.getAxis("left").setTicks([[(c + 0.5, names[c]) for c in starts], []])
        while len(self.layer_lines) < len(starts):
            line = pg.InfiniteLine(angle=0, pen=pg.mkPen((60, 60, 60), width=1, style=Qt.PenStyle.DashLine))
            plot.addItem(line)
            self.layer_lines.append(line)
        for i, line in enumerate(self.layer_lines):
            line.setVisible(0 < i < len(starts))  # a dashed line between layers
            if i < len(starts):
                line.setValue(starts[i])
