"""Training loss (log scale) and the best loss against step."""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import QVBoxLayout, QWidget

from app.gkn.live import LiveState
from app.views import cache_axes, legend_title

MIN_INTERVAL_S = 0.25


class LossView(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.plot_widget = pg.PlotWidget(title="Training loss")
        self.plot = self.plot_widget.getPlotItem()
        self.plot.setLogMode(y=True)
        cache_axes(self.plot)
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "MSE(f(x), x)")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        # Long curves: draw only what is visible, decimated to the screen's pixels.
        self.plot.setClipToView(True)
        self.plot.setDownsampling(auto=True, mode="peak")
        self.loss_curve = self.plot.plot(pen=pg.mkPen((80, 140, 240), width=1), name="batch loss")
        self.best_curve = self.plot.plot(pen=pg.mkPen((240, 150, 40), width=2), name="best loss")
        # the legend in the title: a legend box would cover the curves' start
        self.plot.setTitle(
            legend_title("Training loss", [("batch loss", (80, 140, 240)), ("best loss", (240, 150, 40))])
        )
        # the training step the replay bar shows (every view of the run shows that step)
        self.marker = pg.InfiniteLine(angle=90, pen=pg.mkPen((200, 0, 0, 150), width=1))
        self.marker.setVisible(False)
        self.plot.addItem(self.marker)
        self._last_draw = 0.0
        self._held: tuple[float, float, float] | None = None  # the range shown: x max, log10 y low, high
        self._following = True
        self.plot.vb.sigRangeChangedManually.connect(lambda *_: setattr(self, "_following", False))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot_widget)

    def render(self, state: LiveState, frame: int | None = None, generation: int | None = None) -> None:
        self.marker.setVisible(frame is not None)  # the step a replay shows (none at the newest)
        if frame is not None and frame < len(state.manifold_steps):
            self.marker.setValue(state.manifold_steps[frame])
        now = time.monotonic()
        if now - self._last_draw < MIN_INTERVAL_S and frame is None:
            return  # a loss curve needs no 30 fps; each redraw re-ticks both axes
        self._last_draw = now
        steps = state.steps.values.astype(np.float32)
        # Log axes cannot show 0: a loss of exactly 0 (common on toy data) is drawn at 1e-16.
        floor = np.float32(1e-16)
        losses = np.maximum(state.losses.values.astype(np.float32), floor)
        self.loss_curve.setData(steps, losses)
        self.best_curve.setData(steps, np.maximum(state.best_losses.values.astype(np.float32), floor))
        self._follow(steps, losses)

    def _follow(self, steps: np.ndarray, losses: np.ndarray) -> None:
        """Follow the data with a range that grows in steps (x by half again, y by whole decades), not
        with every new point: a new range re-ticks both axes, the dearest part of a frame. A zoom by
        the user stops it; pyqtgraph's "A" button (auto range) starts it again."""
        vb = self.plot.vb
        if any(vb.autoRangeEnabled()):
            self._following, self._held = True, None
        finite = losses[np.isfinite(losses)]
        if not self._following or not len(steps) or not finite.size:
            return
        last = float(steps[-1])
        low, high = float(np.floor(np.log10(finite.min()))), float(np.ceil(np.log10(finite.max())))
        held = self._held
        if held is None or not (held[0] / 3 <= last <= held[0]) or low < held[1] or high > held[2]:
            self._held = (max(last * 1.5, 10.0), low, max(high, low + 1))
            vb.setRange(xRange=(0, self._held[0]), yRange=self._held[1:], padding=0)  # auto range off

    def redraw_now(self) -> None:
        """Let the next render draw even if the last one was a moment ago (e.g. the tab came to front)."""
        self._last_draw = 0.0

    def export_items(self) -> list[pg.PlotItem]:
        return [self.plot]
