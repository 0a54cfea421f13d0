"""The control panel: every setting of a run, and play / pause / step / reset for training and
sampling. It only collects settings; gkn_core.gkn.config validates them."""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gkn_core.gkn.config import GKNConfig, parse_points, preset_config, preset_description, preset_names

DATA_CHOICES = ("preset", "points", "uniform", "blobs", "ring", "moons", "digits8", "mnist")


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


class ControlPanel(QWidget):
    model_settings_changed = pyqtSignal()
    steps_per_frame_changed = pyqtSignal(int)

    def __init__(self) -> None:
        super().__init__()
        self.preset = combo(preset_names(), "Starting settings; every field below can then be changed")
        self.data = combo(DATA_CHOICES, "Training data: the preset's, your points, a generator or images")
        self.points = QLineEdit()
        self.points.setPlaceholderText("0.2, 0.8   or   0.2 0.2; 0.8 0.8")
        self.points.setToolTip("Training points when data is 'points' (1D: commas; 2D: ';' between points)")
        self.layers = spin(1, 128, "Number of Linear layers L (depth)")
        self.hidden = spin(1, 65536, "Hidden width H")
        self.activation = combo(("relu", "tanh", "leaky_relu", "silu"), "Hidden activation")
        self.lr = real(1e-6, 1.0, 6, 1e-4, "Adam learning rate")
        self.train_steps = spin(1, 10_000_000, "Optimizer steps to train")
        self.steps_per_frame = spin(0, 100_000, "Training steps per screen frame (0: as fast as possible)")
        self.noise = real(0.0, 1.0, 4, 0.005, "Noise scale sigma added after every sampling step")
        self.noise_law = combo(("gaussian", "uniform"), "Zero-mean noise law")
        self.start = combo(("uniform", "clipped_normal"), "Law of the chains' starting states")
        self.burn_in = spin(0, 100_000, "Steps before states count as samples")
        self.chains = spin(1, 100_000, "Number of chains")
        self.sample_steps = spin(1, 1_000_000, "Iterations per chain")
        self.seed = spin(0, 2**31 - 1, "Seed of weights, batches, data and noise")
        self.device = combo(("auto", "cpu", "cuda"), "auto: CUDA when present, else CPU")
        self.train_buttons = TransportButtons("Train")
        self.sample_buttons = TransportButtons("Sample")

        model_box = QGroupBox("Model and training")
        form = QFormLayout(model_box)
        for label, widget in (
            ("preset", self.preset),
            ("data", self.data),
            ("points", self.points),
            ("layers L", self.layers),
            ("width H", self.hidden),
            ("activation", self.activation),
            ("learning rate", self.lr),
            ("steps", self.train_steps),
            ("steps / frame", self.steps_per_frame),
            ("seed", self.seed),
            ("device", self.device),
        ):
            form.addRow(label, widget)
        form.addRow(self.train_buttons)
        sample_box = QGroupBox("Kaleidoscopic sampling")
        form = QFormLayout(sample_box)
        for label, widget in (
            ("chains", self.chains),
            ("steps", self.sample_steps),
            ("noise σ", self.noise),
            ("noise law", self.noise_law),
            ("start", self.start),
            ("burn-in", self.burn_in),
        ):
            form.addRow(label, widget)
        form.addRow(self.sample_buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(model_box)
        layout.addWidget(sample_box)
        layout.addStretch()

        self.load_preset(self.preset.currentText())
        self.preset.currentTextChanged.connect(self.load_preset)
        for widget in (self.layers, self.hidden, self.lr, self.train_steps, self.seed):
            widget.valueChanged.connect(self.model_settings_changed)
        for widget in (self.data, self.activation, self.device):
            widget.currentTextChanged.connect(self.model_settings_changed)
        self.points.textChanged.connect(self.model_settings_changed)
        self.steps_per_frame.valueChanged.connect(self.steps_per_frame_changed)

    def load_preset(self, name: str) -> None:
        config = preset_config(name)
        self.preset.setToolTip(preset_description(name))
        self.blockSignals(True)
        self.data.setCurrentText("preset")
        self.points.setText(", ".join(" ".join(f"{v:g}" for v in p) for p in config.data.points or []))
        if config.data.points and len(config.data.points[0]) > 1:
            self.points.setText("; ".join(" ".join(f"{v:g}" for v in p) for p in config.data.points))
        self.layers.setValue(config.model.layers)
        self.hidden.setValue(config.model.hidden)
        self.activation.setCurrentText(config.model.activation)
        self.lr.setValue(config.train.lr)
        self.train_steps.setValue(config.train.steps)
        self.seed.setValue(config.seed)
        s = config.sample
        self.chains.setValue(s.chains)
        self.sample_steps.setValue(s.steps)
        self.noise.setValue(s.noise)
        self.noise_law.setCurrentText(s.noise_law)
        self.start.setCurrentText(s.start)
        self.burn_in.setValue(s.burn_in)
        self.blockSignals(False)
        self.model_settings_changed.emit()

    def training_config(self) -> GKNConfig:
        """The settings as a validated config; raises ConfigError with one line when one is bad."""
        data: dict[str, Any] = {}
        choice = self.data.currentText()
        if choice == "points":
            data = {"source": "points", "points": parse_points(self.points.text())}
        elif choice != "preset":
            data = {"source": choice, "points": None}
            if choice in ("uniform", "blobs", "ring", "moons"):
                data["dim"] = 2
        overrides = {
            "seed": self.seed.value(),
            "device": self.device.currentText(),
            "model": {
                "layers": self.layers.value(),
                "hidden": self.hidden.value(),
                "activation": self.activation.currentText(),
            },
            "train": {"lr": self.lr.value(), "steps": self.train_steps.value()},
            "sample": self.sample_overrides(),
        }
        if data:
            overrides["data"] = data
        return preset_config(self.preset.currentText(), overrides)

    def sample_overrides(self) -> dict[str, Any]:
        return {
            "chains": self.chains.value(),
            "steps": self.sample_steps.value(),
            "noise": self.noise.value(),
            "noise_law": self.noise_law.currentText(),
            "start": self.start.currentText(),
            "burn_in": self.burn_in.value(),
        }
