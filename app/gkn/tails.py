"""Chains drawn as points with fading tails: one scatter item per tail age, created once."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

TAIL_LENGTH = 8


class ChainTails:
    def __init__(
        self, plot: pg.PlotItem, colour: tuple[int, int, int] = (40, 200, 80), size: float = 9
    ) -> None:
        self.items: list[pg.ScatterPlotItem] = []
        for age in range(TAIL_LENGTH):
            alpha = int(255 * (1 - age / TAIL_LENGTH) ** 1.5)
            item = pg.ScatterPlotItem(
                size=size * (1 - 0.5 * age / TAIL_LENGTH), pen=None, brush=pg.mkBrush(*colour, alpha)
            )
            item.setZValue(20 - age)
            plot.addItem(item)
            self.items.append(item)
        self.starts = pg.ScatterPlotItem(size=7, pen=None, brush=pg.mkBrush(220, 50, 50, 180))
        self.starts.setZValue(5)
        plot.addItem(self.starts)
        self._empty = False  # nothing drawn: clearing again touches no item (each touch is a repaint)

    def set_positions(self, frames: list[tuple[np.ndarray, np.ndarray]], starts=None) -> None:
        """frames[0] is the newest generation's (x, y); older ones follow."""
        for age, item in enumerate(self.items):
            if age < len(frames):
                x, y = frames[age]
                item.setData(x=np.asarray(x, np.float32), y=np.asarray(y, np.float32))
            else:
                item.setData(x=[], y=[])
        if starts is None:
            self.starts.setData(x=[], y=[])
        else:
            self.starts.setData(x=np.asarray(starts[0], np.float32), y=np.asarray(starts[1], np.float32))
        self._empty = not frames and starts is None

    def clear(self) -> None:
        if not self._empty:
            self.set_positions([])
