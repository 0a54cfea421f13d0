"""What every lab's views share, and the views that know no model family (runs, sweeps).

Each view creates its plot items once and updates their data in `render`.
"""

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import QGraphicsItem

# One colour per run or curve, in order (matplotlib's tab10, which readers of figures know).
PALETTE = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
)


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


def legend_title(title: str, entries: list[tuple[str, tuple[int, int, int]]]) -> str:
    """A plot title that carries its legend (coloured names), so no legend box covers a curve."""
    spans = "&nbsp;&nbsp;".join(
        f'<span style="color:#{r:02x}{g:02x}{b:02x}">&#9632; {name}</span>' for name, (r, g, b) in entries
    )
    return f"{title}&nbsp;&nbsp;&nbsp;<span style='font-size:8pt'>{spans}</span>"


def log_ticks(low: float, high: float) -> list[tuple[float, str]]:
    """Ticks of a log10 axis shown from 10**low to 10**high: the decades, and 2 and 5 times them only
    when fewer than three decades are shown (more labels than that collide on a short axis)."""
    first, last = int(np.floor(low)), int(np.ceil(high))
    multiples = (1, 2, 5) if last - first < 3 else (1,)
    ticks = []
    for decade in range(first, last + 1):
        for m in multiples:
            value = np.log10(m) + decade
            if low - 1e-9 <= value <= high + 1e-9:
                ticks.append((float(value), f"{m * 10.0**decade:.3g}"))
    return ticks
