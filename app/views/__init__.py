"""What every lab's views share, and the views that know no model family (runs, sweeps).

Each view creates its plot items once and updates their data in `render`.
"""

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import QGraphicsItem


def cache_axes(plot: pg.PlotItem) -> None:
    """Keep each axis as a cached pixmap: a live frame then redraws the data, not the tick labels."""
    for name in ("left", "bottom", "right", "top"):
        plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def mosaic(images: np.ndarray, columns: int, pad: float) -> np.ndarray:
    """(n, h, w) images tiled row by row with a 1-pixel border of value `pad`."""
    n, h, w = images.shape
    rows = -(-n // columns)
    canvas = np.full((rows * (h + 1) + 1, columns * (w + 1) + 1), pad, dtype=np.float32)
    for i in range(n):
        r, c = divmod(i, columns)
        canvas[1 + r * (h + 1) : 1 + r * (h + 1) + h, 1 + c * (w + 1) : 1 + c * (w + 1) + w] = images[i]
    return canvas
