"""Small widgets every lab's settings use: number boxes, choice boxes, and the transport buttons."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QStyle,
    QWidget,
)

from gkn_core.errors import ConfigError


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


def form_box(title: str, rows: Sequence[tuple[str, QWidget]]) -> tuple[QGroupBox, QFormLayout]:
    """A titled group of labelled fields; the form is returned for rows that span it."""
    box = QGroupBox(title)
    form = QFormLayout(box)
    for label, widget in rows:
        form.addRow(label, widget)
    return box, form


class TransportButtons(QWidget):
    """Play/pause, step and reset for one kind of job, with Qt's standard icons (the font may lack
    the media symbols)."""

    play = pyqtSignal()
    step = pyqtSignal()
    reset = pyqtSignal()

    def __init__(self, what: str) -> None:
        super().__init__()
        style = self.style()
        self.icons = {
            name: style.standardIcon(getattr(QStyle.StandardPixmap, name))
            for name in ("SP_MediaPlay", "SP_MediaPause", "SP_MediaSkipForward", "SP_BrowserReload")
        }
        self.play_button = QPushButton(self.icons["SP_MediaPlay"], what)
        self.play_button.setToolTip(f"Start, pause or resume {what.lower()} (Space)")
        self.step_button = QPushButton(self.icons["SP_MediaSkipForward"], "Step")
        self.step_button.setToolTip(f"Advance {what.lower()} by exactly one step")
        self.reset_button = QPushButton(self.icons["SP_BrowserReload"], "Reset")
        self.reset_button.setToolTip(f"Stop {what.lower()} and clear it (the run file is kept)")
        self.what = what
        self.running = False
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
        self.running = running
        self.play_button.setIcon(self.icons["SP_MediaPause" if running else "SP_MediaPlay"])
        self.play_button.setText(f"Pause {self.what.lower()}" if running else self.what)


class StepBar(QWidget):
    """One step control for every view of a run: a slider over the steps that were recorded and a box
    to type an exact step (the nearest recorded step at or before it is shown). At the right end it
    follows the newest step of a live run."""

    changed = pyqtSignal(int)  # the index of the recorded step shown

    def __init__(self, title: str, tip: str) -> None:
        super().__init__()
        self.steps: list[int] = []
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setToolTip(tip)
        self.box = QSpinBox()
        self.box.setRange(0, 0)
        self.box.setKeyboardTracking(False)  # typing 250 does not jump to 2, then 25
        self.box.setToolTip("Type a step: every view shows the recorded step at or before it")
        self.label = QLabel(title)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.slider, stretch=1)
        layout.addWidget(self.box)
        self.slider.valueChanged.connect(self._on_slider)
        self.box.valueChanged.connect(self._on_box)

    def follow(self, steps: list[int]) -> int | None:
        """Take the recorded steps (they grow while a run is written); the index asked for, or None
        (the newest) while the slider sits at its right end."""
        at_end = self.slider.value() >= self.slider.maximum()
        self.steps = list(steps)
        for widget in (self.slider, self.box):
            widget.blockSignals(True)
        self.slider.setRange(0, max(0, len(self.steps) - 1))
        self.box.setRange(self.steps[0] if self.steps else 0, self.steps[-1] if self.steps else 0)
        if at_end:
            self.slider.setValue(self.slider.maximum())
        if self.steps:
            self.box.setValue(self.steps[self.slider.value()])
        for widget in (self.slider, self.box):
            widget.blockSignals(False)
        return None if at_end or not self.steps else self.slider.value()

    def index(self) -> int:
        return self.slider.value()

    def step(self) -> int | None:
        return self.steps[self.slider.value()] if self.steps else None

    def show_step(self, step: int) -> None:
        """Show the recorded step at or before `step` (what typing it in the box does)."""
        if self.steps:
            self.slider.setValue(max(0, bisect.bisect_right(self.steps, step) - 1))

    def _on_slider(self, index: int) -> None:
        if self.steps:
            self.box.blockSignals(True)
            self.box.setValue(self.steps[min(index, len(self.steps) - 1)])
            self.box.blockSignals(False)
        self.changed.emit(index)

    def _on_box(self, step: int) -> None:
        self.show_step(step)


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


def check_fields(
    fields: dict[str, QWidget], labels: dict[str, str], build: Callable[[], object]
) -> str | None:
    """Build a panel's settings from its fields; the first field the settings refuse turns red with the
    reason. Returns that reason, named as the panel shows the field, or None when every field is good."""
    for widget in fields.values():
        if widget.property("invalid"):
            mark_invalid(widget, None)
    try:
        build()
    except ConfigError as exc:
        key, problem = field_message(str(exc), labels)
        if key is not None:
            mark_invalid(fields[key], problem.partition(": ")[2])
        return problem
    return None
