"""The image panel of the Dynamics view: phi(v) of the first chains at the shown time, tiled, each
framed in its chain's colour (the colour of its curve in the projection)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from app.chaos.dynamics_state import DynamicsState
from app.chaos.projection import chain_colour
from app.chaos.time_panels import plot_widget
from app.views import mosaic

IMAGE_COLUMNS = 4
MAX_IMAGES = 16


class ImagePanel:
    def __init__(self) -> None:
        self.widget = plot_widget("visible layer")
        plot = self.plot = self.widget.getPlotItem()
        plot.setAspectLocked(True)
        plot.invertY(True)
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        plot.setMouseEnabled(x=False, y=False)
        self.image = pg.ImageItem(levels=(-1.0, 1.0))
        plot.addItem(self.image)
        self.frames: list[pg.PlotDataItem] = []
        self.image_shape: tuple[int, int] | None = None
        self._framed: tuple | None = None

    def set_image_shape(self, shape: tuple[int, int] | None) -> None:
        """The data's image shape (8x8, 28x28); None draws the visible layer as one row of pixels."""
        self.image_shape = None if shape is None else (int(shape[0]), int(shape[1]))

    def mosaic(self, state: DynamicsState, index: int) -> np.ndarray:
        """phi(v) of the first MAX_IMAGES chains at frame `index`, IMAGE_COLUMNS wide, 1-pixel gaps."""
        rates = state.rates[:MAX_IMAGES, index]
        shape = self.image_shape or (1, rates.shape[1])
        return mosaic(rates.reshape(-1, *shape), min(IMAGE_COLUMNS, len(rates)), 0.0)

    def clear(self) -> None:
        self.image.clear()
        for frame in self.frames:
            frame.setData([], [])

    def draw(self, state: DynamicsState, index: int, t: float) -> None:
        self.image.setImage(self.mosaic(state, index), autoLevels=False, levels=(-1.0, 1.0))
        shown = min(MAX_IMAGES, state.rates.shape[0])
        self.plot.setTitle(f"phi(v) of chains 0-{shown - 1} at t = {t:.1f} tau")
        self._frame_chains(shown, self.image_shape or (1, state.rates.shape[2]))

    def _frame_chains(self, shown: int, shape: tuple[int, int]) -> None:
        if (shown, shape) == self._framed:
            return  # frames depend on the layout only, not on the time shown
        self._framed = (shown, shape)
        h, w = shape
        columns = min(IMAGE_COLUMNS, shown)
        while len(self.frames) < shown:
            colour = chain_colour(len(self.frames))
            self.frames.append(self.plot.plot(pen=pg.mkPen(*colour, width=2)))
        for chain, frame in enumerate(self.frames):
            if chain >= shown:
                frame.setData([], [])
                continue
            row, column = divmod(chain, columns)
            x0, y0 = column * (w + 1) + 0.5, row * (h + 1) + 0.5
            frame.setData(
                np.array([x0, x0 + w + 1, x0 + w + 1, x0, x0], np.float32),
                np.array([y0, y0, y0 + h + 1, y0 + h + 1, y0], np.float32),
            )
