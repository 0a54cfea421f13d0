"""Small widgets every lab's settings use: number boxes, choice boxes, and the transport buttons."""

from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QPushButton, QSpinBox, QWidget


def spin(low: int, high: int, tip: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setToolTip(tip)
    return box


def real(low: float, high: float, decimals: int, step: float, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setDecimals(decimals)
    box.setSingleStep(step)
    box.setToolTip(tip)
    return box


def combo(items: tuple[str, ...] | list[str], tip: str) -> QComboBox:
    box = QComboBox()
    box.addItems(list(items))
    box.setToolTip(tip)
    return box


class TransportButtons(QWidget):
    """Play/pause, step and reset for one kind of job."""

    play = pyqtSignal()
    step = pyqtSignal()
    reset = pyqtSignal()

    def __init__(self, what: str) -> None:
        super().__init__()
        self.play_button = QPushButton(f"▶ {what}")
        self.play_button.setToolTip(f"Start, pause or resume {what.lower()} (Space)")
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip(f"Advance {what.lower()} by exactly one step")
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip(f"Stop {what.lower()} and clear it (the run file is kept)")
        self.what = what
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for button, signal in (
            (self.play_button, self.play),
            (self.step_button, self.step),
            (self.reset_button, self.reset),
        ):
            button.clicked.connect(signal)
            layout.addWidget(button)

    def show_running(self, running: bool) -> None:
        self.play_button.setText(f"⏸ {self.what}" if running else f"▶ {self.what}")


INVALID_STYLE = "border: 2px solid #d62728;"


def mark_invalid(widget: QWidget, reason: str | None) -> None:
    """A field refused on the spot, the way Qt validators do it: a red frame and the reason as its
    tooltip; None puts the field back (and its own tooltip)."""
    if widget.property("plain_tip") is None:
        widget.setProperty("plain_tip", widget.toolTip())
    widget.setProperty("invalid", reason is not None)
    widget.setStyleSheet("" if reason is None else f"{type(widget).__name__} {{ {INVALID_STYLE} }}")
    widget.setToolTip(widget.property("plain_tip") if reason is None else f"refused: {reason}")


def field_message(message: str, labels: dict[str, str]) -> tuple[str | None, str]:
    """A config error ('train.lr: must be greater than 0 (got 0.0)', '--points: ...') with the field
    named as the panel shows it ('learning rate: ...'): (the key of the field, the message)."""
    where, _, reason = message.partition(": ")
    key = where.removeprefix("--").replace("-", "_")
    for candidate in (key, key.rsplit(".", 1)[-1], key.split(".", 1)[0]):
        if candidate in labels:
            return candidate, f"{labels[candidate]}: {reason}"
    return None, message
