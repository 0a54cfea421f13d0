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
