"""The projection panel of the Dynamics view: trajectories on their 3 principal components, one colour
per chain, with fading tails. 3D is an orthographic view drawn in a 2D plot (no OpenGL): the three
projected coordinates are rotated for display by an azimuth the user picks at a fixed elevation."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

TAIL_LENGTH = 30  # frames in a fading tail (3 tau at dt / tau = 0.1)
ELEVATION_DEG = 20.0  # the 3D view looks slightly down on the PC1-PC2 plane
TAB10 = [
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
]  # fmt: skip


def chain_colour(index: int) -> tuple[int, int, int]:
    """Distinct colours: tab10, then evenly spaced hues for chains beyond ten."""
    if index < len(TAB10):
        return TAB10[index]
    colour = pg.intColor(index - len(TAB10), hues=9, values=2, maxValue=220, minValue=150)
    return colour.red(), colour.green(), colour.blue()


def rotate_for_display(points: np.ndarray, azimuth_deg: float) -> np.ndarray:
    """(..., 3) coordinates -> (..., 2) screen coordinates of an orthographic view: a turn by the
    azimuth about PC3, then a tilt by ELEVATION_DEG (PC3 points up the screen)."""
    az, el = math.radians(azimuth_deg), math.radians(ELEVATION_DEG)
    p1, p2, p3 = points[..., 0], points[..., 1], points[..., 2]
    across = math.cos(az) * p1 - math.sin(az) * p2
    depth = math.sin(az) * p1 + math.cos(az) * p2
    up = math.cos(el) * p3 + math.sin(el) * depth
    return np.stack([across, up], axis=-1).astype(np.float32)


class ProjectionPanel:
    """Owns the items of one PlotItem; `set_data` takes the (chains, n, 3) projection, `show` a frame."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = plot
        self.mode = "2d"
        self.azimuth = 30.0
        self.data = np.zeros((0, 0, 3), np.float32)
        self.explained = np.zeros(3)
        self.curves: list[pg.PlotDataItem] = []
        self.tails = pg.ScatterPlotItem(pen=None)
        self.tails.setZValue(10)
        self.heads = pg.ScatterPlotItem(size=10, pen=pg.mkPen("k", width=1))
        self.heads.setZValue(12)
        self.starts = pg.ScatterPlotItem(size=6, symbol="x", pen=pg.mkPen((90, 90, 90), width=1))
        self.axes = pg.PlotDataItem(pen=pg.mkPen((120, 120, 120), width=1), connect="pairs")
        self.axis_labels = [
            pg.TextItem(f"PC{i + 1}", color=(80, 80, 80), anchor=(0.5, 0.5)) for i in range(3)
        ]
        for item in (self.tails, self.heads, self.starts, self.axes, *self.axis_labels):
            plot.addItem(item)
        self._brushes = np.empty(0, dtype=object)
        self._sizes = np.zeros(0)
        self._range: float | None = None
        self.set_mode("2d")

    def _ensure_chains(self, chains: int) -> None:
        """Curves and tail brushes are made once per chain count, not per frame."""
        while len(self.curves) < chains:
            colour = chain_colour(len(self.curves))
            curve = pg.PlotDataItem(pen=pg.mkPen(*colour, 100, width=1))
            self.plot.addItem(curve)
            self.curves.append(curve)
        for extra in self.curves[chains:]:
            extra.setData([], [])
        ages = np.arange(TAIL_LENGTH)
        alphas = (255 * (1 - ages / TAIL_LENGTH) ** 1.5).astype(int)
        brushes = [pg.mkBrush(*chain_colour(c), a) for c in range(chains) for a in alphas]
        self._brushes = np.empty(len(brushes), dtype=object)
        self._brushes[:] = brushes
        self._sizes = np.tile(8 * (1 - 0.7 * ages / TAIL_LENGTH), chains)
        self._head_brushes = [pg.mkBrush(*chain_colour(c)) for c in range(chains)]

    def set_mode(self, mode: str, azimuth: float | None = None) -> None:
        self.mode = mode
        if azimuth is not None:
            self.azimuth = azimuth
        three_d = mode == "3d"
        self.axes.setVisible(three_d)
        for label in self.axis_labels:
            label.setVisible(three_d)
        self._range = None
        self._label_axes()

    def _label_axes(self) -> None:
        e = 100 * self.explained
        self.plot.setLabel("bottom", f"PC1 ({e[0]:.0f}% of the variance)")
        self.plot.setLabel("left", f"PC2 ({e[1]:.0f}%)")
        for axis in ("left", "bottom"):  # setLabel shows an axis; the 3D view has none
            self.plot.showAxis(axis, self.mode == "2d")
        view = "PC1-PC2" if self.mode == "2d" else f"PC1-3 turned {self.azimuth:.0f}°"
        self.plot.setTitle(f"projection on {view} (variance {e[0]:.0f}%, {e[1]:.0f}%, {e[2]:.0f}%)")

    def set_data(self, projection: np.ndarray, explained: np.ndarray) -> None:
        if projection.shape[0] != self.data.shape[0]:
            self._ensure_chains(projection.shape[0])
        self.data = projection
        if not np.array_equal(explained, self.explained):
            self.explained = np.asarray(explained, dtype=np.float64)
            self._label_axes()

    def _screen(self, points: np.ndarray) -> np.ndarray:
        return (
            points[..., :2].astype(np.float32)
            if self.mode == "2d"
            else rotate_for_display(points, self.azimuth)
        )

    def show(self, index: int) -> None:
        """Every chain up to frame `index`, the last TAIL_LENGTH frames as a fading tail."""
        chains, n = self.data.shape[:2]
        if not chains or not n:
            for item in (self.tails, self.heads, self.starts):
                item.setData([], [])
            for curve in self.curves:
                curve.setData([], [])
            return
        index = min(max(index, 0), n - 1)
        screen = self._screen(self.data)
        self._fix_range()
        for chain in range(chains):
            self.curves[chain].setData(screen[chain, : index + 1, 0], screen[chain, : index + 1, 1])
        ages = np.arange(TAIL_LENGTH)
        frames = np.clip(index - ages, 0, None)
        tail = screen[:, frames].reshape(-1, 2)  # chain-major, newest first: matches the brushes
        keep = np.tile(index - ages >= 0, chains)
        self.tails.setData(
            x=tail[keep, 0], y=tail[keep, 1], brush=self._brushes[keep], size=self._sizes[keep]
        )
        self.heads.setData(x=screen[:, index, 0], y=screen[:, index, 1], brush=self._head_brushes)
        self.starts.setData(x=screen[:, 0, 0], y=screen[:, 0, 1])

    def _fix_range(self) -> None:
        """One range for every frame and azimuth (auto-ranging each frame would make the view jump);
        it only grows as frames arrive."""
        radius = (
            float(np.abs(self.data).max(initial=0.0))
            if self.mode == "2d"
            else float(np.linalg.norm(self.data, axis=-1).max(initial=0.0))
        )
        radius = max(radius, 1e-6) * 1.08
        if self._range is not None and radius <= self._range:
            return
        self._range = radius
        self.plot.disableAutoRange()
        self.plot.setRange(xRange=(-radius, radius), yRange=(-radius, radius), padding=0)
        if self.mode == "3d":
            ends = 0.8 * radius * np.eye(3)
            screen = rotate_for_display(ends, self.azimuth)
            pairs = np.zeros((6, 2), np.float32)
            pairs[1::2] = screen
            self.axes.setData(pairs[:, 0], pairs[:, 1])
            for label, (x, y) in zip(self.axis_labels, screen * 1.1, strict=True):
                label.setPos(float(x), float(y))
