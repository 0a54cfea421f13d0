"""The chaos training view's panel of scores against sampling time: every score of the same chains at
each sampling time t (`gkn sample RUN --score-times ...`, /scores_vs_time in the run file), with the
training T marked. Hidden while the run has no such measurement."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt

from app.views import cache_axes, legend_title
from gkn_core.chaos.runfile import ScoreTimesRecord

PENS = {
    "E2": (31, 119, 180),
    "Es": (255, 127, 14),
    "ER": (44, 160, 44),
    "AAI": (214, 39, 40),
    "class_score": (148, 103, 189),
}
LABELS = {"E2": "E(2)", "Es": "E(s)", "ER": "E(R)", "AAI": "AAI", "class_score": "class score"}
ERRORS, QUALITY = ("E2", "Es"), ("ER", "AAI", "class_score")


class ScoreTimesPanel(pg.GraphicsLayoutWidget):
    def __init__(self) -> None:
        super().__init__()
        self.errors_plot = self.addPlot(row=0, col=0)
        self.quality_plot = self.addPlot(row=0, col=1)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.t_lines: list[pg.InfiniteLine] = []
        for plot, names in ((self.errors_plot, ERRORS), (self.quality_plot, QUALITY)):
            plot.setLogMode(x=True, y=plot is self.errors_plot)
            plot.setLabel("bottom", "sampling time t")
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.setMouseEnabled(x=False, y=False)
            cache_axes(plot)
            for name in names:
                colour = PENS[name]
                self.curves[name] = plot.plot(
                    pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=6, symbolBrush=colour
                )
            line = pg.InfiniteLine(
                angle=90, pen=pg.mkPen((60, 60, 60), width=1.5, style=Qt.PenStyle.DashLine)
            )
            line.label = pg.InfLineLabel(line, text="training T", position=0.12, color=(60, 60, 60))
            plot.addItem(line)
            self.t_lines.append(line)
        self.quality_plot.addItem(
            pg.InfiniteLine(0.5, angle=0, pen=pg.mkPen(PENS["AAI"], style=Qt.PenStyle.DotLine))
        )
        self.record: ScoreTimesRecord | None = None
        self.setVisible(False)

    def draw(self, record: ScoreTimesRecord | None) -> None:
        """Show one measurement (set the curves' data), or hide the panel when there is none."""
        self.record = record
        self.setVisible(record is not None)
        if record is None:
            for curve in self.curves.values():
                curve.setData([], [])
            return
        t = np.asarray(record.times, dtype=np.float64)
        for name, curve in self.curves.items():
            y = np.asarray(record.scores[name], dtype=np.float64)
            keep = np.isfinite(y) & ((y > 0) if name in ERRORS else True)  # a log axis takes no 0
            curve.setData(x=t[keep], y=y[keep])
        ticks = [(float(np.log10(v)), f"{v:g}") for v in t]  # the measured times, on log10 axes
        for plot, line in zip((self.errors_plot, self.quality_plot), self.t_lines, strict=True):
            line.setValue(float(np.log10(record.training_T)))
            plot.getAxis("bottom").setTicks([ticks, []])
        class_name = record.class_score_name or "class score"
        self.errors_plot.setTitle(
            legend_title(
                f"distances at sampling time t ({record.n} chains)", [(LABELS[n], PENS[n]) for n in ERRORS]
            )
        )
        entries = [(LABELS[n], PENS[n]) for n in ("ER", "AAI")] + [(class_name, PENS["class_score"])]
        self.quality_plot.setTitle(legend_title("AAI, E(R) and " + class_name, entries))
