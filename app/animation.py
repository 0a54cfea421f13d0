"""Animations as figures: GIF/MP4 of one plot or one image array, never a grab of the window.

A frame is the pyqtgraph item rendered alone at the chosen size (`render_item`), or an image array
(the kaleidoscope grid) scaled to it (`scale_image`). Frames are drawn a few per event-loop turn in
the GUI thread (Qt items can only be drawn there) with a progress dialog, so the window stays alive;
the GIF/MP4 is then written in a worker thread, and the host says "saved to ...".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QObject, QRectF, Qt, QTimer
from PyQt6.QtGui import QImage, QPainter
from PyQt6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QProgressDialog, QSpinBox, QWidget

from app.export import qimage_to_array, to_uint8, write_animation
from gkn_core.errors import GKNError

FRAMES_PER_TURN = 4  # frames drawn per event-loop turn: the window answers between them


@dataclass(frozen=True)
class AnimationOptions:
    width: int = 800  # pixels of the figure
    fps: float = 10.0


def render_item(item: pg.GraphicsItem, width: int) -> np.ndarray:
    """One plot (or layout) of a pyqtgraph scene drawn alone, `width` pixels wide, as RGB."""
    source = item.sceneBoundingRect()
    height = max(2, round(width * source.height() / max(source.width(), 1.0)))
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        item.scene().render(painter, QRectF(0, 0, width, height), source)
    finally:
        painter.end()
    return qimage_to_array(image)


def scale_image(image: np.ndarray, low: float, high: float, width: int) -> np.ndarray:
    """A grayscale array as RGB, each pixel repeated to about `width` pixels across."""
    scale = max(1, width // max(1, image.shape[1]))
    pixels = np.kron(to_uint8(image, low, high), np.ones((scale, scale), dtype=np.uint8))
    return np.repeat(pixels[:, :, None], 3, axis=2)


class OptionsDialog(QDialog):
    """Size and frame rate of an animation."""

    def __init__(self, parent: QWidget | None, options: AnimationOptions) -> None:
        super().__init__(parent)
        self.setWindowTitle("Animation")
        self.width_box = QSpinBox(minimum=64, maximum=4096, value=options.width, suffix=" px")
        self.fps_box = QSpinBox(minimum=1, maximum=60, value=round(options.fps), suffix=" fps")
        form = QFormLayout(self)
        form.addRow("width", self.width_box)
        form.addRow("frame rate", self.fps_box)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def options(self) -> AnimationOptions:
        return AnimationOptions(self.width_box.value(), float(self.fps_box.value()))


class AnimationExport(QObject):
    """Draw `count` frames with `frame(i)`, then write them in a worker (the lab's Workers), then
    `done(path)` or `failed(message)`. `restore()` puts the view back as it was."""

    def __init__(
        self,
        parent: QWidget,
        count: int,
        frame: Callable[[int], np.ndarray],
        path: Path,
        options: AnimationOptions,
        workers: Any,  # the lab's Workers: the file is written off the GUI thread
        done: Callable[[Path], None],
        failed: Callable[[str], None],
        restore: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(parent)
        if count <= 0:
            raise GKNError("nothing to animate yet")
        if path.suffix.lower() not in (".gif", ".mp4"):
            raise GKNError(f"{path.name}: animations export to .gif or .mp4")
        self.count, self.frame, self.path, self.options = count, frame, path, options
        self.workers, self.done, self.failed, self.restore = workers, done, failed, restore
        self.frames: list[np.ndarray] = []
        self.progress = QProgressDialog(f"Drawing {path.name} ...", "Cancel", 0, count + 1, parent)
        self.progress.setWindowModality(Qt.WindowModality.NonModal)
        self.progress.setMinimumDuration(300)
        self.progress.setValue(0)
        self.finished = False
        self.cancelled = False
        QTimer.singleShot(0, self._next)

    def _next(self) -> None:
        if self.progress.wasCanceled():
            self.cancelled = self.finished = True
            self.restore()
            return
        try:
            for _ in range(FRAMES_PER_TURN):
                if len(self.frames) >= self.count:
                    break
                self.frames.append(self.frame(len(self.frames)))
        except Exception as exc:  # a view that cannot draw: one line, never a traceback
            self._fail(f"animation failed: {exc}")
            return
        self.progress.setValue(len(self.frames))
        if len(self.frames) < self.count:
            QTimer.singleShot(0, self._next)
            return
        self.restore()
        self.progress.setLabelText(f"Writing {self.path.name} ...")
        frames, path, fps = self.frames, self.path, self.options.fps
        self.workers.call(lambda: write_animation(frames, path, fps), self._written, self._fail)

    def _written(self, _: Any) -> None:
        self.progress.setValue(self.count + 1)
        self.progress.close()
        self.finished = True
        self.done(self.path)

    def _fail(self, message: str) -> None:
        self.progress.close()
        self.finished = True
        self.restore()
        self.failed(message)
