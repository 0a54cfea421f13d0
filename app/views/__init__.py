"""The window's views. Each creates its plot items once and updates their data in `render`."""

import pyqtgraph as pg
from PyQt6.QtWidgets import QGraphicsItem


def cache_axes(plot: pg.PlotItem) -> None:
    """Keep each axis as a cached pixmap: a live frame then redraws the data, not the tick labels."""
    for name in ("left", "bottom", "right", "top"):
        plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
