"""2D view: the loss map with a colour bar, the displacement field f(p) - p as arrows, the basins of
attraction as a toggle, the training points, and chains with fading tails. Click to start chains."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QRectF, pyqtSignal
from PyQt6.QtWidgets import QCheckBox, QHBoxLayout, QVBoxLayout, QWidget

from app.gkn.live import LiveState
from app.gkn.tails import TAIL_LENGTH, ChainTails
from app.views import cache_axes
from gkn_core.gkn.manifolds import Basins

ARROWS_PER_SIDE = 20


def arrow_segments(manifold, per_side: int = ARROWS_PER_SIDE) -> tuple[np.ndarray, np.ndarray]:
    """Line segments p -> p + d for a subsampled grid, as (x, y) pairs for connect='pairs'."""
    n = len(manifold.xs)
    index = np.linspace(0, n - 1, per_side).round().astype(int)
    gx, gy = np.meshgrid(manifold.xs[index], manifold.ys[index])
    d = manifold.displacement[np.ix_(index, index)]
    x = np.stack([gx.ravel(), (gx + d[..., 0]).ravel()], axis=1).ravel()
    y = np.stack([gy.ravel(), (gy + d[..., 1]).ravel()], axis=1).ravel()
    return x.astype(np.float32), y.astype(np.float32)


LEVEL_STEP = 0.25  # decades: the colour scale moves in these steps, not with every frame's extremes


def colour_levels(log_loss: np.ndarray) -> tuple[float, float]:
    """The colour bar's range: the frame's log10 loss range, widened to whole LEVEL_STEPs."""
    low = np.floor(float(log_loss.min()) / LEVEL_STEP) * LEVEL_STEP
    high = max(np.ceil(float(log_loss.max()) / LEVEL_STEP) * LEVEL_STEP, low + LEVEL_STEP)
    return float(low), float(high)


TITLE = "loss map log10 ||p - f(p)||² / 2, displacement f(p) - p"


class TwoDView(QWidget):
    chain_requested = pyqtSignal(float, float)
    basins_wanted = pyqtSignal()

    def __init__(self) -> None:
        super().__init__()
        self.graphics = pg.GraphicsLayoutWidget()
        self.plot = self.graphics.addPlot(title=TITLE)
        self.plot.setAspectLocked(True)
        cache_axes(self.plot)
        self.plot.setMouseEnabled(x=False, y=False)
        self.loss_image = pg.ImageItem()
        self.basin_image = pg.ImageItem()
        self.basin_image.setOpacity(0.55)
        self.basin_image.setVisible(False)
        self.plot.addItem(self.loss_image)
        self.plot.addItem(self.basin_image)
        self.colour_bar = pg.ColorBarItem(
            values=(-8, 0), colorMap=pg.colormap.get("viridis"), label="log10 loss"
        )
        self.colour_bar.setImageItem(self.loss_image, insert_in=self.plot)
        self.arrows = self.plot.plot(pen=pg.mkPen((255, 255, 255, 200), width=1), connect="pairs")
        self.arrow_heads = pg.ScatterPlotItem(size=3, pen=None, brush=pg.mkBrush(255, 255, 255, 220))
        self.plot.addItem(self.arrow_heads)
        self.points = pg.ScatterPlotItem(size=12, pen=pg.mkPen("w"), brush=pg.mkBrush(0, 0, 0, 230))
        self.points.setZValue(10)
        self.plot.addItem(self.points)
        self.tails = ChainTails(self.plot, colour=(255, 80, 80))
        self.basins_box = QCheckBox("basins of attraction")
        self.basins_box.setToolTip("Colour each point by the attractor its noise-free iteration reaches")
        self.basins_box.toggled.connect(self._on_basins_toggled)
        self.basins: Basins | None = None
        controls = QHBoxLayout()
        controls.addWidget(self.basins_box)
        controls.addStretch()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.graphics)
        self._rect: QRectF | None = None
        self._drawn: tuple | None = None
        self._levels: tuple[float, float] | None = None
        self._points_of: np.ndarray | None = None
        self.graphics.scene().sigMouseClicked.connect(self._on_clicked)

    def render(self, state: LiveState, frame: int | None = None, generation: int | None = None) -> None:
        if state.dim == 2 and not state.manifolds and state.data is not None:
            # before the first run: the training data of the settings, and what to press
            self.points.setData(x=state.data[:, 0], y=state.data[:, 1])
            self._points_of = state.data
            self.plot.setRange(QRectF(state.low, state.low, state.high - state.low, state.high - state.low))
            self.plot.setTitle(f"the {len(state.data)} training points; press Train (Space)")
            self._drawn, self._previewing = None, True
            return
        if state.dim != 2 or not state.manifolds:
            return
        m = state.manifolds[-1 if frame is None else frame]
        content = (id(state), id(m), len(state.chains), generation)
        if content == self._drawn:
            return  # new losses arrived, but nothing this view shows changed
        self._drawn = content
        if getattr(self, "_previewing", False):
            self._previewing = False
            self.plot.setTitle(TITLE)
        rect = QRectF(state.low, state.low, state.high - state.low, state.high - state.low)
        if rect != self._rect:
            # A fixed range: auto-ranging on every frame repaints the axes, the costliest part of a frame.
            self.plot.disableAutoRange()
            self.plot.setRange(rect, padding=0.03)
        self._rect = rect
        log_loss = np.log10(np.maximum(m.loss, 1e-12)).astype(np.float32)
        self.loss_image.setImage(log_loss, autoLevels=False)
        self.loss_image.setRect(self._rect)
        levels = colour_levels(log_loss)
        if levels != self._levels:  # a new scale re-ticks the colour bar's axis: only when it moves
            self._levels = levels
            self.colour_bar.setLevels(levels)
        x, y = arrow_segments(m)
        self.arrows.setData(x, y)
        self.arrow_heads.setData(x=x[1::2], y=y[1::2])
        if state.data is not None and state.data is not self._points_of:
            self._points_of = state.data  # the training points change with the run, not the frame
            self.points.setData(x=state.data[:, 0], y=state.data[:, 1])
        if state.chains:
            g = len(state.chains) - 1 if generation is None else generation
            first = max(0, g - TAIL_LENGTH + 1)
            frames = [(state.chains[k][:, 0], state.chains[k][:, 1]) for k in range(g, first - 1, -1)]
            starts = state.chains[0]
            self.tails.set_positions(frames, (starts[:, 0], starts[:, 1]))
        else:
            self.tails.clear()

    def show_basins(self, basins: Basins) -> None:
        self.basins = basins
        labels = basins.label.astype(np.float32)
        labels[basins.label < 0] = np.nan
        self.basin_image.setImage(labels, levels=(0, max(1, len(basins.attractors) - 1)))
        self.basin_image.setLookupTable(pg.colormap.get("CET-C6").getLookupTable(nPts=256))
        if self._rect is not None:
            self.basin_image.setRect(self._rect)

    def _on_basins_toggled(self, on: bool) -> None:
        self.basin_image.setVisible(on)
        if on:
            self.basins_wanted.emit()

    def _on_clicked(self, event) -> None:
        pos = event.scenePos()
        if self._rect is None or not self.plot.sceneBoundingRect().contains(pos):
            return
        p = self.plot.vb.mapSceneToView(pos)
        if self._rect.contains(p):
            self.chain_requested.emit(float(p.x()), float(p.y()))

    def export_items(self) -> list:
        return [self.plot]
