"""The GKN lab's control panel: every setting of a run, and play / pause / step / reset for training and
sampling. It only collects settings; gkn_core.gkn.config validates them."""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

from app.widgets import TransportButtons, check_fields, combo, form_box, real, spin
from gkn_core.errors import ConfigError
from gkn_core.gkn.config import GKNConfig, parse_points, preset_config, preset_description, preset_names

DATA_CHOICES = (
    "preset", "points", "uniform", "blobs", "ring", "moons", "digits8", "mnist", "fashion", "fashion8"
)  # fmt: skip
# config keys (as in the one-line errors) -> the field's label in the panel
LABELS = {
    "points": "points", "data": "data", "layers": "layers L", "hidden": "width H",
    "activation": "activation", "lr": "learning rate", "train.steps": "steps", "seed": "seed",
    "device": "device", "chains": "chains", "sample.steps": "sampling steps", "noise": "noise σ",
    "noise_law": "noise law", "start": "start", "burn_in": "burn-in",
}  # fmt: skip


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
        self.lr = real(0.0, 1.0, 6, 1e-4, "Adam learning rate (> 0)")
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

        model_box, form = form_box(
            "Model and training",
            (
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
            ),
        )
        form.addRow(self.train_buttons)
        sample_box, form = form_box(
            "Kaleidoscopic sampling",
            (
                ("chains", self.chains),
                ("steps", self.sample_steps),
                ("noise σ", self.noise),
                ("noise law", self.noise_law),
                ("start", self.start),
                ("burn-in", self.burn_in),
            ),
        )
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
        self.points.textEdited.connect(self._on_points_edited)
        self.data.currentTextChanged.connect(self._sync_enabled)
        self.steps_per_frame.valueChanged.connect(self.steps_per_frame_changed)
        self.model_settings_changed.connect(self.check)
        for box in (self.chains, self.sample_steps, self.noise, self.burn_in):
            box.valueChanged.connect(self.check)
        self.fields = {
            "points": self.points, "data": self.data, "layers": self.layers, "hidden": self.hidden,
            "activation": self.activation, "lr": self.lr, "train.steps": self.train_steps,
            "seed": self.seed, "device": self.device, "chains": self.chains,
            "sample.steps": self.sample_steps, "noise": self.noise, "noise_law": self.noise_law,
            "start": self.start, "burn_in": self.burn_in,
        }  # fmt: skip
        self.problem: str | None = None
        self._sync_enabled()
        self.check()

    # -- one source of truth ----------------------------------------------------------------------
    def _preset_has_points(self) -> bool:
        return preset_config(self.preset.currentText()).data.source == "points"

    def _on_points_edited(self, _: str) -> None:
        """Typing points makes them the training data (they would be ignored otherwise)."""
        if self.data.currentText() != "points":
            self.data.setCurrentText("points")

    def _sync_enabled(self, *_: Any) -> None:
        """The points box drives the run only for points data: greyed out for generators and images."""
        choice = self.data.currentText()
        self.points.setEnabled(choice == "points" or (choice == "preset" and self._preset_has_points()))

    def check(self, *_: Any) -> str | None:
        """Validate every field as typed: the first bad one turns red with the reason (also
        returned, with the field named as the panel shows it); None when all are good."""
        self.problem = check_fields(self.fields, LABELS, self.training_config)
        return self.problem

    def show_config(self, config: GKNConfig) -> None:
        """Show a run's settings (a replay): the panel then describes the run on screen."""
        self.preset.blockSignals(True)
        self.preset.setCurrentText(str(config.preset))
        self.preset.blockSignals(False)
        self.blockSignals(True)
        if config.data.source == "points":
            self.data.setCurrentText("points")
            self.points.setText(format_points(config.data.points or []))
        else:
            self.data.setCurrentText(config.data.source if config.data.source in DATA_CHOICES else "preset")
        self._show_values(config)
        self.blockSignals(False)
        self._sync_enabled()
        self.check()

    def _show_values(self, config: GKNConfig) -> None:
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

    def load_preset(self, name: str) -> None:
        config = preset_config(name)
        self.preset.setToolTip(preset_description(name))
        self.blockSignals(True)
        self.data.setCurrentText("preset")
        self.points.setText(format_points(config.data.points or []))
        self._show_values(config)
        self.blockSignals(False)
        if hasattr(self, "fields"):
            self._sync_enabled()
        self.model_settings_changed.emit()

    def checked_config(self) -> GKNConfig:
        """The settings as a config, or ConfigError naming the field as the panel does."""
        problem = self.check()
        if problem is not None:
            raise ConfigError(problem)
        return self.training_config()

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


def format_points(points: list[list[float]]) -> str:
    """'0.2, 0.8' for 1D points, '0.2 0.2; 0.8 0.8' for points with more coordinates."""
    if points and len(points[0]) > 1:
        return "; ".join(" ".join(f"{v:g}" for v in p) for p in points)
    return ", ".join(" ".join(f"{v:g}" for v in p) for p in points)
