"""Exports from the window: plots (PNG, SVG), the image grid (PNG), recordings, animations (GIF, MP4)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters
from PyQt6.QtCore import QRectF
from PyQt6.QtGui import QImage, QPainter
from PyQt6.QtSvg import QSvgGenerator
from PyQt6.QtWidgets import QWidget

from gkn_core.errors import GKNError


def export_plot(item: pg.PlotItem, path: Path, width: int = 1600) -> None:
    """A plot as a raster (PNG) or vector (SVG) figure, chosen by the file suffix."""
    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise GKNError(f"{path.name}: plots export to .png or .svg")
    try:
        if suffix == ".svg":
            try:
                pyqtgraph.exporters.SVGExporter(item).export(str(path))
            except ValueError:
                # pyqtgraph 0.14's SVG post-processing cannot parse the paths Qt 6.11 writes.
                render_svg(item, path)
        else:
            exporter = pyqtgraph.exporters.ImageExporter(item)
            exporter.parameters()["width"] = width
            exporter.export(str(path))
    except OSError as exc:
        raise GKNError(f"cannot write {path}: {exc.strerror or exc}") from None
    except Exception as exc:  # pyqtgraph's SVG writer fails on some items; say so, keep the app
        raise GKNError(
            f"{suffix[1:].upper()} export of this plot failed ({type(exc).__name__}: {exc})"
        ) from None


def render_svg(item: pg.PlotItem, path: Path) -> None:
    """The plot's part of the scene drawn straight into Qt's SVG generator (vector, no post-processing)."""
    source = item.sceneBoundingRect()
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(source.size().toSize())
    generator.setViewBox(QRectF(0, 0, source.width(), source.height()))
    generator.setTitle("GKN Studio plot")
    painter = QPainter(generator)
    try:
        item.scene().render(painter, QRectF(0, 0, source.width(), source.height()), source)
    finally:
        painter.end()


def to_uint8(image: np.ndarray, low: float, high: float) -> np.ndarray:
    return (np.clip((image - low) / (high - low), 0, 1) * 255).round().astype(np.uint8)


def export_image(image: np.ndarray, low: float, high: float, path: Path, scale: int = 4) -> None:
    """A grayscale array (e.g. the kaleidoscope grid) as a PNG, each pixel `scale` x `scale`."""
    pixels = np.kron(to_uint8(image, low, high), np.ones((scale, scale), dtype=np.uint8))
    iio.imwrite(path, pixels)


def qimage_to_array(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height = image.width(), image.height()
    data = np.frombuffer(image.constBits().asstring(image.sizeInBytes()), dtype=np.uint8)
    return data.reshape(height, image.bytesPerLine())[:, : width * 3].reshape(height, width, 3).copy()


def grab_frames(
    widget: QWidget, draw_generation: Callable[[int], None], generations: Iterable[int]
) -> list[np.ndarray]:
    """Render the widget at every generation and keep each picture."""
    frames = []
    for generation in generations:
        draw_generation(generation)
        frames.append(qimage_to_array(widget.grab().toImage()))
    return frames


def write_animation(frames: list[np.ndarray], path: Path, fps: float = 8.0) -> None:
    if not frames:
        raise GKNError("nothing to animate yet: sample first")
    suffix = path.suffix.lower()
    even = [f[: f.shape[0] // 2 * 2, : f.shape[1] // 2 * 2] for f in frames]  # H.264 wants even sizes
    try:
        if suffix == ".gif":
            iio.imwrite(path, np.stack(even), duration=1000 / fps, loop=0)
        elif suffix == ".mp4":
            iio.imwrite(path, np.stack(even), fps=fps)  # imageio-ffmpeg's bundled ffmpeg, H.264
        else:
            raise GKNError(f"{path.name}: animations export to .gif or .mp4")
    except OSError as exc:
        raise GKNError(f"cannot write {path}: {exc}") from None
