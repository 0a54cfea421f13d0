"""Kaleidoscope view: a grid of chains at one generation, the strip of every generation of one chain
(click a cell), and the class score of every generation (the burn-in curve: the share of chains the
shipped classifier calls a digit/item with confidence, and the classes seen). The generation shown is
the GKN replay bar's (one control for every view); Play steps that control through the generations."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.gkn.live import LiveState
from app.views import PALETTE, cache_axes, legend_title, mosaic

GRID_COLUMNS, GRID_ROWS = 8, 6  # the reference code's fixed 48 chains in an 8 x 6 grid
STRIP_LENGTH = 24
SCORE_PEN, CLASSES_PEN = PALETTE[4], PALETTE[2]
NO_QUALITY = "no class score recorded"


class KaleidoscopeView(QWidget):
    generation_requested = pyqtSignal(int)  # Play asks the replay bar for the next generation

    def __init__(self) -> None:
        super().__init__()
        self.graphics = pg.GraphicsLayoutWidget()
        self.grid_plot = self.graphics.addPlot(row=0, col=0, title="chains at generation 0")
        self.strip_plot = self.graphics.addPlot(
            row=1, col=0, title="click a cell: its chain over generations"
        )
        self.quality_plot = self.graphics.addPlot(row=2, col=0, title=NO_QUALITY)
        self.graphics.ci.layout.setRowStretchFactor(0, 4)
        self.graphics.ci.layout.setRowStretchFactor(2, 2)
        q = self.quality_plot
        q.setLabel("bottom", "generation")
        q.setYRange(0, 1, padding=0.02)
        q.setMouseEnabled(x=False, y=False)
        q.showGrid(x=True, y=True, alpha=0.25)
        q.getAxis("left").enableAutoSIPrefix(False)
        cache_axes(q)
        self.score_curve = q.plot(pen=pg.mkPen(SCORE_PEN, width=2))
        self.classes_curve = q.plot(pen=pg.mkPen(CLASSES_PEN, width=1.5))
        self.burn_in_line = pg.InfiniteLine(
            angle=90, pen=pg.mkPen((120, 120, 120), style=Qt.PenStyle.DashLine)
        )
        self.generation_line = pg.InfiniteLine(angle=90, pen=pg.mkPen((200, 0, 0, 160), width=1))
        q.addItem(self.burn_in_line)
        q.addItem(self.generation_line)
        self._quality_drawn: tuple = ()
        for plot in (self.grid_plot, self.strip_plot):
            plot.setAspectLocked(True)
            plot.invertY(True)
            plot.hideAxis("left")
            plot.hideAxis("bottom")
            plot.setMouseEnabled(x=False, y=False)
        self.grid_image = pg.ImageItem()
        self.strip_image = pg.ImageItem()
        self.grid_plot.addItem(self.grid_image)
        self.strip_plot.addItem(self.strip_image)
        self.highlight = pg.RectROI(
            [0, 0], [1, 1], movable=False, resizable=False, pen=pg.mkPen("r", width=2)
        )
        self.highlight.setVisible(False)
        self.grid_plot.addItem(self.highlight)
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play the generations as an animation")
        self.play_button.toggled.connect(self._on_play)
        self.info = QLabel("no sampling yet: train an image model, then press Sample")
        self.play_timer = QTimer(self)
        self.play_timer.setInterval(120)
        self.play_timer.timeout.connect(self._advance_playback)
        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(QLabel("the generation shown is set in the bar below"))
        controls.addStretch()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.info)
        layout.addWidget(self.graphics, stretch=1)
        layout.addLayout(controls)
        self.state: LiveState | None = None
        self.generation = 0  # the generation drawn
        self.selected_chain: int | None = None
        self.graphics.scene().sigMouseClicked.connect(self._on_clicked)

    def render(self, state: LiveState, frame: int | None = None, generation: int | None = None) -> None:
        self.state = state
        if state.image_shape is not None and not state.chains and state.data is not None:
            self._draw_preview(state)
            return
        if state.image_shape is None or not state.chains:
            return
        last = len(state.chains) - 1
        self.generation = last if generation is None else min(generation, last)
        self._draw(self.generation)

    def _draw_preview(self, state: LiveState) -> None:
        """Before sampling: the training images, and what to press."""
        images = state.data[: GRID_COLUMNS * GRID_ROWS].reshape(-1, *state.image_shape)
        self.grid_image.setImage(mosaic(images, GRID_COLUMNS, state.high), levels=(state.low, state.high))
        self.grid_plot.setTitle(f"{len(images)} of the {len(state.data)} training images")
        self.info.setText("the training data: press Train (Space), then Sample")

    def grid_images(self, generation: int) -> np.ndarray:
        states = self.state.chains[generation][: GRID_COLUMNS * GRID_ROWS]
        return states.reshape(-1, *self.state.image_shape)

    def grid_mosaic(self, generation: int) -> np.ndarray:
        return mosaic(self.grid_images(generation), GRID_COLUMNS, self.state.high)

    def _draw(self, generation: int) -> None:
        state = self.state
        levels = (state.low, state.high)
        self.grid_image.setImage(self.grid_mosaic(generation), levels=levels)
        phase = "burn-in" if 0 < generation <= state.burn_in else ("start" if generation == 0 else "samples")
        n = len(state.chains[0])
        self.grid_plot.setTitle(
            f"{min(n, GRID_COLUMNS * GRID_ROWS)} of {n} chains at generation {generation} ({phase})"
        )
        self.info.setText(f"{len(state.chains) - 1} generations; burn-in {state.burn_in}")
        if self.selected_chain is not None:
            self._draw_strip(self.selected_chain, generation)
        self._draw_quality(generation)

    def _draw_quality(self, generation: int) -> None:
        """The class-score curve (set only when it grew or the run changed), and the generation line."""
        state = self.state
        self.generation_line.setValue(generation)
        key = (id(state), state.quality_generation.size, state.quality_name, state.burn_in)
        if key == self._quality_drawn:
            return
        self._quality_drawn = key
        x = state.quality_generation.values.astype(np.float64)
        scored = bool(x.size) and not state.quality_reason
        self.score_curve.setData(x=x if scored else [], y=state.quality_score.values if scored else [])
        classes = state.quality_classes.values / 10.0
        self.classes_curve.setData(x=x if scored else [], y=classes if scored else [])
        self.burn_in_line.setValue(state.burn_in)
        if not state.quality_name:
            self.quality_plot.setTitle(NO_QUALITY)
        elif state.quality_reason:
            self.quality_plot.setTitle(state.quality_reason)
        else:
            last = float(state.quality_score.values[-1])
            title = f"{state.quality_name} by generation (now {last:.2f})"
            entries = [("confident share", SCORE_PEN), ("classes seen / 10", CLASSES_PEN)]
            self.quality_plot.setTitle(legend_title(title, entries))
        self.quality_plot.setXRange(0, max(1.0, float(len(state.chains) - 1)), padding=0.02)

    def _draw_strip(self, chain: int, generation: int) -> None:
        state = self.state
        first = max(0, generation - STRIP_LENGTH + 1)
        images = np.stack([state.chains[g][chain] for g in range(first, generation + 1)])
        strip = mosaic(images.reshape(-1, *state.image_shape), STRIP_LENGTH, state.high)
        self.strip_image.setImage(strip, levels=(state.low, state.high))
        self.strip_plot.setTitle(f"chain {chain}, generations {first}..{generation}")

    def _last(self) -> int:
        return len(self.state.chains) - 1 if self.state is not None and self.state.chains else 0

    def _on_play(self, playing: bool) -> None:
        self.play_button.setText("Pause" if playing else "Play")
        if playing and self.generation >= self._last():
            self.generation_requested.emit(0)
        (self.play_timer.start if playing else self.play_timer.stop)()

    def _advance_playback(self) -> None:
        if self.generation >= self._last():
            self.play_button.setChecked(False)
        else:
            self.generation_requested.emit(self.generation + 1)

    def _on_clicked(self, event) -> None:
        if self.state is None or self.state.image_shape is None or not self.state.chains:
            return
        pos = event.scenePos()
        if not self.grid_plot.sceneBoundingRect().contains(pos):
            return
        p = self.grid_plot.vb.mapSceneToView(pos)
        h, w = self.state.image_shape
        column, row = int((p.x() - 1) // (w + 1)), int((p.y() - 1) // (h + 1))
        index = row * GRID_COLUMNS + column
        if 0 <= column < GRID_COLUMNS and 0 <= index < min(
            len(self.state.chains[0]), GRID_COLUMNS * GRID_ROWS
        ):
            self.select_chain(index)

    def select_chain(self, index: int) -> None:
        h, w = self.state.image_shape
        row, column = divmod(index, GRID_COLUMNS)
        self.selected_chain = index
        self.highlight.setPos((column * (w + 1) + 0.5, row * (h + 1) + 0.5))
        self.highlight.setSize((w + 1, h + 1))
        self.highlight.setVisible(True)
        self._draw_strip(index, self.generation)

    def export_items(self) -> list:
        return [self.grid_plot]
