"""Lyapunov view: the spectrum lambda_i against i / N, the finite-time largest exponent over time, the
largest exponent against g from a quick sweep of untrained networks, and the summary numbers.

Everything drawn comes from a LyapunovSnapshot of gkn_core.chaos.analysis.LyapunovAnalysisJob: the
job computes, this view only draws. The spectrum's x is i / N with i = 1..k (1-based), so a full
spectrum ends at 1 and the first exponent sits at 1 / N.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.views import cache_axes
from app.widgets import real, spin
from gkn_core.chaos.analysis import MAX_DEFAULT_EXPONENTS, LyapunovSettings, LyapunovSnapshot, g_grid

SPECTRUM = (31, 119, 180)
LOCAL = (214, 39, 40)
SWEEP = (44, 160, 44)
EMPTY = np.zeros(0, dtype=np.float32)


@dataclass
class LyapunovState:
    """The newest snapshot of the running analysis (snapshots are cumulative); `version` changes with it."""

    snapshot: LyapunovSnapshot | None = None
    version: int = 0

    def reset(self) -> None:
        self.snapshot = None
        self.version += 1

    def add(self, batch: list[LyapunovSnapshot]) -> None:
        if batch:
            self.snapshot = batch[-1]
            self.version += 1


def _f32(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def _plot(
    graphics: pg.GraphicsLayoutWidget, row: int, col: int, title: str, bottom: str, **kw: Any
) -> pg.PlotItem:
    plot = graphics.addPlot(row=row, col=col, title=title, **kw)
    plot.setLabel("left", "exponent per tau")
    plot.setLabel("bottom", bottom)
    plot.showGrid(x=True, y=True, alpha=0.25)
    for axis in ("left", "bottom"):
        plot.getAxis(axis).enableAutoSIPrefix(False)  # numbers read as written, not in units of 0.001
    cache_axes(plot)
    # lambda = 0 separates contraction from chaos in all three plots
    plot.addItem(pg.InfiniteLine(0.0, angle=0, pen=pg.mkPen((90, 90, 90), width=1)))
    return plot


class LyapunovView(QWidget):
    compute_requested = pyqtSignal(dict)  # the LyapunovSettings fields, to validate and run
    stop_requested = pyqtSignal()  # the button while a job runs

    def __init__(self) -> None:
        super().__init__()
        self.graphics = pg.GraphicsLayoutWidget()
        self.spectrum_plot = _plot(self.graphics, 0, 0, "Lyapunov spectrum", "i / N", colspan=2)
        self.spectrum_plot.setXRange(0, 1, padding=0.02)  # fixed: shows how much of the spectrum is known
        self.spectrum_plot.enableAutoRange(x=False)
        # Plain curve items: FillBetweenItem fills between their paths (a pen-less PlotDataItem has none).
        self.spread_high = pg.PlotCurveItem(pen=pg.mkPen(None))
        self.spread_low = pg.PlotCurveItem(pen=pg.mkPen(None))
        self.spread = pg.FillBetweenItem(self.spread_low, self.spread_high, brush=(*SPECTRUM, 50))
        for item in (self.spread_high, self.spread_low, self.spread):
            self.spectrum_plot.addItem(item)
        self.spectrum_curve = self.spectrum_plot.plot(
            pen=pg.mkPen(SPECTRUM, width=1.5), symbol="o", symbolSize=4, symbolPen=None, symbolBrush=SPECTRUM
        )
        self.local_plot = _plot(self.graphics, 1, 0, "finite-time largest exponent", "time (tau)")
        self.local_curve = self.local_plot.plot(pen=pg.mkPen(LOCAL, width=1.5))
        self.local_mean_line = pg.InfiniteLine(
            angle=0,
            pen=pg.mkPen(LOCAL, width=1.5, style=Qt.PenStyle.DashLine),
            label="mean {value:+.3f}",
            labelOpts={"position": 0.85, "color": LOCAL, "anchors": [(0.5, 1), (0.5, 1)]},
        )
        self.local_plot.addItem(self.local_mean_line)
        self.g_plot = _plot(self.graphics, 1, 1, "largest exponent vs g (untrained)", "gain g")
        self.g_curve = self.g_plot.plot(
            pen=pg.mkPen(SWEEP, width=1.5), symbol="o", symbolSize=6, symbolPen=None, symbolBrush=SWEEP
        )
        self.network_g_line = pg.InfiniteLine(
            angle=90,
            pen=pg.mkPen((148, 103, 189), width=2, style=Qt.PenStyle.DashLine),
            label="network g = {value:g}",
            labelOpts={"position": 0.08, "color": (148, 103, 189), "anchors": [(0, 0), (0, 0)]},
        )
        self.g_plot.addItem(self.network_g_line)
        self.graphics.ci.layout.setRowStretchFactor(0, 5)
        self.graphics.ci.layout.setRowStretchFactor(1, 4)

        self.largest_label = QLabel()
        self.pr_label = QLabel()
        self.ky_label = QLabel()
        self.crossing_label = QLabel()
        self.stage_label = QLabel()
        self.network_label = QLabel("network: the Dynamics view's (press Compute)")
        self.network_label.setToolTip("The network analysed: the one of the Dynamics view's 'network' box")
        self.estimate_label = QLabel()
        self.estimate_label.setToolTip(
            "The largest exponent as the training curve and `gkn lyapunov` estimate it (one tangent "
            "vector), ± its standard error over the chains, with the settings it was estimated with"
        )
        for label in (self.network_label, self.estimate_label):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setContentsMargins(8, 0, 8, 0)
        self.largest_label.setToolTip("Largest exponent per tau of the analysed network (mean over chains)")
        self.pr_label.setToolTip(
            "Participation ratio of the positive exponents: effective unstable directions"
        )
        self.ky_label.setToolTip("Kaplan-Yorke dimension (a lower bound if the k exponents sum to > 0)")
        self.crossing_label.setToolTip("Gain where the untrained networks' largest exponent crosses 0")
        numbers = QHBoxLayout()
        numbers.setContentsMargins(8, 2, 8, 0)
        numbers.setSpacing(24)
        for label in (self.largest_label, self.pr_label, self.ky_label, self.crossing_label):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            numbers.addWidget(label)
        numbers.addStretch()
        numbers.addWidget(self.stage_label)

        defaults = LyapunovSettings()
        self.exponents = spin(
            0, 65536, f"How many of the largest exponents (0: every unit, at most {MAX_DEFAULT_EXPONENTS})"
        )
        self.exponents.setSpecialValueText(f"all (≤{MAX_DEFAULT_EXPONENTS})")
        self.steps = spin(1, 1_000_000, "Euler steps averaged over (after a transient of one phase T/dt)")
        self.steps.setValue(defaults.steps)
        self.chains = spin(
            1, 10_000, "Trajectories (initial states) averaged; the standard error is over them"
        )
        self.chains.setValue(defaults.chains)
        self.g_from = real(0.0, 100.0, 2, 0.25, "First gain of the sweep of untrained networks")
        self.g_to = real(0.0, 100.0, 2, 0.25, "Last gain of the sweep")
        self.g_step = real(0.01, 100.0, 2, 0.05, "Gain step of the sweep")
        self.g_from.setValue(min(defaults.g_values))
        self.g_to.setValue(max(defaults.g_values))
        self.g_step.setValue(0.25)
        self.compute_button = QPushButton("Compute")
        self.compute_button.clicked.connect(self._on_button)
        controls = QHBoxLayout()
        controls.setContentsMargins(8, 0, 8, 4)
        for text, widget in (
            ("exponents", self.exponents),
            ("steps", self.steps),
            ("chains", self.chains),
            ("g from", self.g_from),
            ("to", self.g_to),
            ("step", self.g_step),
        ):
            controls.addWidget(QLabel(text))
            controls.addWidget(widget)
        controls.addStretch()
        controls.addWidget(self.compute_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.network_label)
        layout.addWidget(self.graphics, stretch=1)
        layout.addLayout(numbers)
        layout.addWidget(self.estimate_label)
        layout.addLayout(controls)
        self._busy = False
        self._drawn: tuple[int, int] = (-1, -1)
        self.set_busy(False)
        self._draw(None)

    # -- controls ---------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """The LyapunovSettings fields as the controls set them (the rest at their defaults)."""
        raw = LyapunovSettings().model_dump()
        raw.update(
            exponents=self.exponents.value() or None,
            steps=self.steps.value(),
            chains=self.chains.value(),
            g_values=g_grid(self.g_from.value(), self.g_to.value(), self.g_step.value()),
        )
        return raw

    def _on_button(self) -> None:
        if self._busy:
            self.stop_requested.emit()
        else:
            self.compute_requested.emit(self.settings())

    def set_network(self, text: str) -> None:
        """Name the network the numbers are of (untrained / trained at step N, g, seed)."""
        self.network_label.setText(f"network: {text}")

    def set_busy(self, busy: bool) -> None:
        """While a job runs the button stops it."""
        self._busy = busy
        self.compute_button.setText("Stop" if busy else "Compute")
        self.compute_button.setToolTip(
            "Stop the analysis after its current step"
            if busy
            else "Spectrum, finite-time exponent and g sweep of the network of the Dynamics view"
        )

    # -- drawing ----------------------------------------------------------------------------------
    def render(self, state: LyapunovState) -> None:
        if (id(state), state.version) == self._drawn:
            return
        self._drawn = (id(state), state.version)
        self._draw(state.snapshot)

    def _draw(self, snap: LyapunovSnapshot | None) -> None:
        if snap is None or snap.spectrum is None:
            for curve in (self.spectrum_curve, self.spread_high, self.spread_low):
                curve.setData(EMPTY, EMPTY)
        else:
            k = len(snap.spectrum)
            x = _f32(np.arange(1, k + 1) / snap.n_units)
            self.spectrum_curve.setData(x, _f32(snap.spectrum))
            self.spread_high.setData(x, _f32(snap.spectrum + snap.spectrum_std))
            self.spread_low.setData(x, _f32(snap.spectrum - snap.spectrum_std))
            self.spectrum_plot.setTitle(
                f"Lyapunov spectrum: {k} of N = {snap.n_units} exponents (band: ± std over chains)"
            )
        if snap is None:
            self.local_curve.setData(EMPTY, EMPTY)
            self.g_curve.setData(EMPTY, EMPTY)
        else:
            self.local_curve.setData(_f32(snap.local_t), _f32(snap.local_largest))
            self.g_curve.setData(_f32(snap.g_values), _f32(snap.g_largest))
        mean = None if snap is None else snap.local_mean
        self.local_mean_line.setVisible(mean is not None)
        if mean is not None:
            self.local_mean_line.setValue(mean)
        self.network_g_line.setVisible(snap is not None)
        if snap is not None:
            self.network_g_line.setValue(snap.network_g)
        self._draw_numbers(snap)

    def _draw_numbers(self, snap: LyapunovSnapshot | None) -> None:
        def shown(value: float | None, text: str) -> str:
            return text.format(value) if value is not None else text.split(" ")[0] + " –"

        if snap is None or snap.largest is None:
            self.estimate_label.setText("")
        else:
            self.estimate_label.setText(f"largest exponent λmax {snap.largest.describe()}")
        if snap is None:
            for label in (self.largest_label, self.pr_label, self.ky_label, self.crossing_label):
                label.setText("")
            self.stage_label.setText("press Compute: spectrum, finite-time exponent, g sweep")
            return
        largest = None if snap.spectrum is None else float(snap.spectrum[0])
        self.largest_label.setText(shown(largest, "spectrum λ1 {:+.4f} per tau"))
        self.pr_label.setText(shown(snap.participation_ratio, "PR {:.2f}"))
        self.ky_label.setText(shown(snap.kaplan_yorke, "KY {:.2f}"))
        if snap.g_crossing is not None:
            self.crossing_label.setText(f"λmax = 0 at g ≈ {snap.g_crossing:.2f}")
        else:
            self.crossing_label.setText("λmax = 0: not crossed" if len(snap.g_values) > 1 else "")
        done = "done" if snap.step == snap.total_steps else snap.stage
        self.stage_label.setText(f"{done}  ({snap.step}/{snap.total_steps}, {snap.elapsed:.1f} s)")

    def export_items(self) -> list[pg.PlotItem]:
        return [self.spectrum_plot, self.local_plot, self.g_plot]
