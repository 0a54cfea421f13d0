"""1D view: the output manifold f(x) against the identity, the loss manifold, and chains on them.

Two panels side by side: the live (or replayed) run, and a comparison run (e.g. L=2 against L=7) so
the depth effect - flat steps of the deep network against the gentle slope of the shallow one - is
seen at a glance.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from app.gkn.live import LiveState
from app.gkn.tails import TAIL_LENGTH, ChainTails
from app.views import cache_axes
from gkn_core.gkn.manifolds import Manifold1D


def tail_frames(chains: list[np.ndarray], generation: int) -> list[np.ndarray]:
    """The states of the newest generations up to `generation`, newest first, as 1D arrays."""
    first = max(0, generation - TAIL_LENGTH + 1)
    return [chains[g][:, 0] for g in range(generation, first - 1, -1)]


class ManifoldPanel1D(pg.GraphicsLayoutWidget):
    chain_requested = pyqtSignal(float)

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title = title
        self.output = self.addPlot(row=0, col=0, title=f"{title}: output manifold f(x)")
        self.loss = self.addPlot(row=1, col=0, title="loss manifold (x - f(x))²")
        for plot in (self.output, self.loss):
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setLabel("bottom", "x")
            plot.setMouseEnabled(x=False, y=False)
        self.loss.setXLink(self.output)
        cache_axes(self.output)
        cache_axes(self.loss)
        self.identity = self.output.plot(pen=pg.mkPen((150, 150, 150), style=pg.QtCore.Qt.PenStyle.DashLine))
        self.fx_curve = self.output.plot(pen=pg.mkPen((80, 140, 240), width=2))
        self.loss_curve = self.loss.plot(pen=pg.mkPen((240, 150, 40), width=2))
        self.output_points = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(0, 0, 0, 200), symbol="o")
        self.loss_points = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(0, 0, 0, 200), symbol="o")
        self.output.addItem(self.output_points)
        self.loss.addItem(self.loss_points)
        self.output_tails = ChainTails(self.output)
        self.loss_tails = ChainTails(self.loss)
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((120, 120, 120, 120)))
        self.output.addItem(self.cursor, ignoreBounds=True)
        self.readout = pg.TextItem(anchor=(0, 0), color=(30, 30, 30))
        self.output.addItem(self.readout, ignoreBounds=True)
        self.manifold: Manifold1D | None = None
        self._range: tuple[float, float] | None = None
        self._drawn: tuple | None = None
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.scene().sigMouseClicked.connect(self._on_clicked)

    def show_state(
        self, state: LiveState | None, frame: int | None = None, generation: int | None = None
    ) -> None:
        if state is None or not state.manifolds:
            self.clear_items()
            if state is not None and state.data is not None:
                self.show_preview(state)
            return
        if self._range is not None and self._drawn is not None and self._drawn[0] != id(state):
            self.clear_readout()  # another model: the last one's values under the mouse are gone
        self.manifold = state.manifolds[-1 if frame is None else frame]
        m = self.manifold
        content = (id(state), id(m), len(state.chains), generation, self.title)
        if content == self._drawn:
            return  # new losses arrived, but nothing this panel shows changed
        self._drawn = content
        if self._range != (state.low, state.high):
            # Fixed x range and output range: auto-ranging every frame repaints the axes (costly).
            self._range = (state.low, state.high)
            self.output.disableAutoRange()
            self.output.setRange(xRange=self._range, yRange=self._range, padding=0.03)
            self.loss.enableAutoRange(axis="y")
        self.output.setTitle(
            f"{self.title}: output manifold f(x), step {state.manifold_steps[-1 if frame is None else frame]}"
        )
        self.identity.setData([state.low, state.high], [state.low, state.high])
        self.fx_curve.setData(m.x, m.fx)
        self.loss_curve.setData(m.x, m.loss)
        if state.data is not None:
            points = state.data[:, 0]
            self.output_points.setData(x=points, y=points)
            self.loss_points.setData(x=points, y=np.zeros_like(points))
        if state.chains:
            g = len(state.chains) - 1 if generation is None else generation
            xs = tail_frames(state.chains, g)
            self.output_tails.set_positions([(x, np.interp(x, m.x, m.fx)) for x in xs])
            starts = state.chains[0][:, 0]
            self.loss_tails.set_positions(
                [(x, np.interp(x, m.x, m.loss)) for x in xs], (starts, np.interp(starts, m.x, m.loss))
            )
        else:
            self.output_tails.clear()
            self.loss_tails.clear()

    def show_preview(self, state: LiveState) -> None:
        """Before the first run: the training data of the settings on the identity, and what to press."""
        points = state.data[:, 0]
        self.identity.setData([state.low, state.high], [state.low, state.high])
        self.output_points.setData(x=points, y=points)
        self.loss_points.setData(x=points, y=np.zeros_like(points))
        self.output.setRange(xRange=(state.low, state.high), yRange=(state.low, state.high), padding=0.03)
        self._range = None
        self.output.setTitle(f"{self.title}: the {len(points)} training points; press Train (Space)")

    def clear_readout(self) -> None:
        self.readout.setText("")
        self.cursor.setVisible(False)

    def clear_items(self) -> None:
        self.manifold = None
        self._drawn = None
        self.clear_readout()
        for item in (self.fx_curve, self.loss_curve, self.identity):
            item.setData([], [])
        self.output_points.setData(x=[], y=[])
        self.loss_points.setData(x=[], y=[])
        self.output_tails.clear()
        self.loss_tails.clear()

    def _x_under(self, scene_pos) -> float | None:
        for plot in (self.output, self.loss):
            if plot.sceneBoundingRect().contains(scene_pos):
                return float(plot.vb.mapSceneToView(scene_pos).x())
        return None

    def _on_mouse_moved(self, scene_pos) -> None:
        x = self._x_under(scene_pos)
        if x is None or self.manifold is None:
            return
        m = self.manifold
        x = float(np.clip(x, m.x[0], m.x[-1]))
        self.cursor.setPos(x)
        self.cursor.setVisible(True)
        fx, loss = np.interp(x, m.x, m.fx), np.interp(x, m.x, m.loss)
        self.readout.setText(f"x={x:.3f}  f(x)={fx:.3f}  loss={loss:.2e}")
        self.readout.setPos(m.x[0], float(np.max(m.fx)))

    def _on_clicked(self, event) -> None:
        x = self._x_under(event.scenePos())
        if x is not None and self.manifold is not None:
            self.chain_requested.emit(float(np.clip(x, self.manifold.x[0], self.manifold.x[-1])))


class OneDView(QWidget):
    chain_requested = pyqtSignal(float)
    twin_requested = pyqtSignal(int)
    comparison_closed = pyqtSignal()

    def __init__(self) -> None:
        super().__init__()
        self.live_panel = ManifoldPanel1D("this run")
        self.compare_panel = ManifoldPanel1D("comparison")
        self.live_panel.chain_requested.connect(self.chain_requested)
        self.twin_layers = QSpinBox()
        self.twin_layers.setRange(1, 128)
        self.twin_layers.setValue(2)
        self.twin_layers.setToolTip("Depth L of the twin: the same settings with another number of layers")
        self.twin_button = QPushButton("Train twin")
        self.twin_button.setToolTip(
            "Train a second model beside this one, e.g. L=2 against L=7, to see the depth effect"
        )
        self.twin_button.clicked.connect(lambda: self.twin_requested.emit(self.twin_layers.value()))
        bar = QHBoxLayout()
        bar.addWidget(QLabel("compare with a twin of depth L ="))
        bar.addWidget(self.twin_layers)
        bar.addWidget(self.twin_button)
        bar.addStretch()
        self.close_compare_button = QPushButton("Close comparison")
        self.close_compare_button.setToolTip("Hide the comparison panel (a twin still training stops)")
        self.close_compare_button.clicked.connect(self.comparison_closed)
        self.close_compare_button.setVisible(False)
        bar.addWidget(self.close_compare_button)
        panels = QHBoxLayout()
        for panel in (self.live_panel, self.compare_panel):
            panel.setMinimumWidth(240)  # two panels fit beside the settings at the default width
            panels.addWidget(panel, stretch=1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addLayout(panels, stretch=1)
        self.compare_state: LiveState | None = None
        self.compare_panel.setVisible(False)

    def set_comparison(self, state: LiveState | None, title: str = "comparison") -> None:
        self.compare_state = state
        self.compare_panel.title = title
        self.compare_panel.setVisible(state is not None)
        self.close_compare_button.setVisible(state is not None)
        self.compare_panel.show_state(state)

    def render(self, state: LiveState, frame: int | None = None, generation: int | None = None) -> None:
        self.live_panel.show_state(state if state.dim == 1 else None, frame, generation)

    def export_items(self) -> list:
        return [self.live_panel.output, self.live_panel.loss]
