"""The chaos lab's settings: architecture, sizes, g, tau, dt, T, k, M, data, and the training transport.

It only collects settings; gkn_core.chaos.config validates them (a bad value is one line in a dialog).
"""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QLabel, QLineEdit, QVBoxLayout, QWidget

from app.widgets import TransportButtons, check_fields, combo, form_box, real, spin
from gkn_core.chaos.config import (
    ChaosConfig,
    chaos_preset_config,
    chaos_preset_description,
    chaos_preset_names,
)
from gkn_core.errors import ConfigError

CHAOS_DATA = ("digits8", "mnist", "fashion", "fashion8", "file")
DEFAULT_PRESET = "digits8"  # a CPU trains it in a minute or two (paper-mnist is a GPU job)
MIN_CURVE_POINTS = 5
LABELS = {
    "source": "data", "path": "file", "limit": "first N images", "arch": "architecture",
    "Nh": "hidden Nh", "Nh2": "hidden Nh2", "g": "gain g", "tau": "tau", "dt": "dt", "T": "phase T",
    "k": "rate k", "M": "minibatch M", "train.steps": "steps", "metrics_every": "scores every",
    "lyapunov_every": "exponent every", "sample_every": "samples every", "seed": "seed",
    "device": "device", "model": "network", "data": "data",
}  # fmt: skip


def curve_points(steps: int, every: int) -> int:
    """How many points a curve measured at step 1, every `every` steps and at the last gets."""
    return len({1, steps} | set(range(every, steps + 1, every)))


class ChaosControlPanel(QWidget):
    model_settings_changed = pyqtSignal()

    def __init__(self) -> None:
        super().__init__()
        self.preset = combo(chaos_preset_names(), "Starting settings; every field below can then be changed")
        self.data = combo(CHAOS_DATA, "Training images (in [-1, 1]); 'file': an .npz / IDX file")
        self.data_path = QLineEdit()
        self.data_path.setPlaceholderText("path to .npz or IDX images (data 'file')")
        self.limit = spin(0, 10_000_000, "Use only the first N images (0: all)")
        self.arch = combo(
            ("restricted2", "restricted3", "unrestricted"), "Network architecture (SPEC-NOTES section 2)"
        )
        self.Nh = spin(1, 65536, "Hidden units Nh (unrestricted: units besides the visible ones)")
        self.Nh2 = spin(1, 65536, "Second hidden layer Nh2 (restricted3 only)")
        self.g = real(0.0, 100.0, 3, 0.05, "Gain g of the random couplings: chaos for g > 1")
        self.tau = real(1e-3, 1e6, 3, 1.0, "Time constant tau")
        self.dt = real(1e-3, 1e6, 3, 0.5, "Euler step dt (at most tau)")
        self.T = real(1e-3, 1e7, 2, 10.0, "Time of a phase; a phase is T/dt Euler steps")
        self.k = real(0.0, 10.0, 5, 0.001, "Learning rate k of the Hebbian update (> 0)")
        self.M = spin(1, 1_000_000, "Minibatch size M (and number of free-phase chains)")
        self.train_steps = spin(1, 100_000_000, "Hebbian updates to train")
        self.metrics_every = spin(1, 10_000_000, "Measure the four scores and the class score every N steps")
        self.lyapunov_every = spin(0, 10_000_000, "Largest Lyapunov exponent every N steps (0: never)")
        self.sample_every = spin(0, 10_000_000, "Keep a grid of fresh samples every N steps (0: never)")
        self.seed = spin(0, 2**31 - 1, "Seed of couplings, batches and states")
        self.device = combo(("auto", "cpu", "cuda"), "auto: CUDA when present, else CPU")
        self.train_buttons = TransportButtons("Train")
        self.every_hint = QLabel()
        self.every_hint.setWordWrap(True)
        self.every_hint.setStyleSheet("color: #b35900;")

        network, form = form_box(
            "Network",
            (
                ("preset", self.preset),
                ("architecture", self.arch),
                ("hidden Nh", self.Nh),
                ("hidden Nh2", self.Nh2),
                ("gain g", self.g),
                ("tau", self.tau),
                ("dt", self.dt),
                ("phase T", self.T),
                ("seed", self.seed),
                ("device", self.device),
            ),
        )
        training, form = form_box(
            "Contrastive Hebbian training",
            (
                ("data", self.data),
                ("file", self.data_path),
                ("first N images", self.limit),
                ("rate k", self.k),
                ("minibatch M", self.M),
                ("steps", self.train_steps),
                ("scores every", self.metrics_every),
                ("exponent every", self.lyapunov_every),
                ("samples every", self.sample_every),
            ),
        )
        form.addRow(self.every_hint)
        form.addRow(self.train_buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(network)
        layout.addWidget(training)
        layout.addStretch()

        self.preset.setCurrentText(DEFAULT_PRESET)
        self.load_preset(self.preset.currentText())
        self.preset.currentTextChanged.connect(self.load_preset)
        for box in (self.Nh, self.Nh2, self.M, self.train_steps, self.seed, self.limit):
            box.valueChanged.connect(self.model_settings_changed)
        for box in (self.g, self.tau, self.dt, self.T, self.k):
            box.valueChanged.connect(self.model_settings_changed)
        for choice in (self.arch, self.data, self.device):
            choice.currentTextChanged.connect(self.model_settings_changed)
        self.data_path.textChanged.connect(self.model_settings_changed)
        self.data.currentTextChanged.connect(self._sync_enabled)
        self.arch.currentTextChanged.connect(self._sync_enabled)
        for box in (self.train_steps, self.metrics_every, self.lyapunov_every, self.sample_every):
            box.valueChanged.connect(self._hint_curves)
        self.fields = {
            "source": self.data, "path": self.data_path, "limit": self.limit, "arch": self.arch,
            "Nh": self.Nh, "Nh2": self.Nh2, "g": self.g, "tau": self.tau, "dt": self.dt, "T": self.T,
            "k": self.k, "M": self.M, "train.steps": self.train_steps,
            "metrics_every": self.metrics_every, "lyapunov_every": self.lyapunov_every,
            "sample_every": self.sample_every, "seed": self.seed, "device": self.device,
            "model": self.dt, "data": self.data_path,
        }  # fmt: skip
        self.problem: str | None = None
        self.model_settings_changed.connect(self.check)
        for box in (self.metrics_every, self.lyapunov_every, self.sample_every):
            box.valueChanged.connect(self.check)
        self._sync_enabled()
        self._hint_curves()
        self.check()

    def _sync_enabled(self, *_: Any) -> None:
        """Fields that do not drive the run are greyed out: the file without data 'file', Nh2
        outside restricted3."""
        self.data_path.setEnabled(self.data.currentText() == "file")
        self.Nh2.setEnabled(self.arch.currentText() == "restricted3")

    def _hint_curves(self, *_: Any) -> None:
        """Say when an "every N steps" setting leaves its curve with fewer than 5 points."""
        steps, short = self.train_steps.value(), []
        for name, box in (("scores", self.metrics_every), ("exponent", self.lyapunov_every),
                          ("samples", self.sample_every)):  # fmt: skip
            if box.value() and curve_points(steps, box.value()) < MIN_CURVE_POINTS:
                short.append(f"{name} every {box.value()}: {curve_points(steps, box.value())} points")
        self.every_hint.setVisible(bool(short))
        if short:
            self.every_hint.setText(
                f"With {steps} steps, "
                + "; ".join(short)
                + f". Choose at most {max(1, steps // 10)} for a curve of about 10 points."
            )

    def check(self, *_: Any) -> str | None:
        """Validate every field as typed: the first bad one turns red with the reason (also
        returned, with the field named as the panel shows it); None when all are good."""
        self.problem = check_fields(self.fields, LABELS, self.training_config)
        return self.problem

    def checked_config(self, **model_overrides: Any) -> ChaosConfig:
        """The settings as a config, or ConfigError naming the field as the panel does."""
        problem = self.check()
        if problem is not None:
            raise ConfigError(problem)
        return self.training_config(**model_overrides)

    def load_preset(self, name: str) -> None:
        self.preset.setToolTip(chaos_preset_description(name))
        self.show_config(chaos_preset_config(name), preset=False)

    def show_config(self, config: ChaosConfig, preset: bool = True) -> None:
        """Show a config's settings (a preset, or a replayed run's)."""
        if preset:
            self.preset.blockSignals(True)
            self.preset.setCurrentText(str(config.preset))
            self.preset.blockSignals(False)
        self.blockSignals(True)
        if config.preset and self.preset.findText(config.preset) >= 0:
            self.preset.blockSignals(True)
            self.preset.setCurrentText(config.preset)
            self.preset.blockSignals(False)
        self.data.setCurrentText(config.data.source)
        self.data_path.setText(config.data.path or "")
        self.limit.setValue(config.data.limit or 0)
        m, t = config.model, config.train
        self.arch.setCurrentText(m.arch)
        self.Nh.setValue(m.Nh)
        self.Nh2.setValue(m.Nh2)
        self.g.setValue(m.g)
        self.tau.setValue(m.tau)
        self.dt.setValue(m.dt)
        self.T.setValue(m.T)
        self.k.setValue(t.k)
        self.M.setValue(t.M)
        self.train_steps.setValue(t.steps)
        self.metrics_every.setValue(t.metrics_every)
        self.lyapunov_every.setValue(t.lyapunov_every or 0)
        self.sample_every.setValue(t.sample_every or 0)
        self.seed.setValue(config.seed)
        self.blockSignals(False)
        self.model_settings_changed.emit()
        if hasattr(self, "fields"):
            self._sync_enabled()
            self._hint_curves()

    def overrides(self) -> dict[str, Any]:
        """Every field of the panel as nested preset overrides."""
        data: dict[str, Any] = {"source": self.data.currentText(), "limit": self.limit.value() or None}
        data["path"] = self.data_path.text().strip() or None if data["source"] == "file" else None
        return {
            "seed": self.seed.value(),
            "device": self.device.currentText(),
            "data": data,
            "model": {
                "arch": self.arch.currentText(),
                "Nh": self.Nh.value(),
                "Nh2": self.Nh2.value(),
                "g": self.g.value(),
                "tau": self.tau.value(),
                "dt": self.dt.value(),
                "T": self.T.value(),
            },
            "train": {
                "k": self.k.value(),
                "M": self.M.value(),
                "steps": self.train_steps.value(),
                "metrics_every": self.metrics_every.value(),
                "lyapunov_every": self.lyapunov_every.value() or None,
                "sample_every": self.sample_every.value() or None,
            },
        }

    def training_config(self, **model_overrides: Any) -> ChaosConfig:
        """The settings as a validated config; raises ConfigError with one line when one is bad."""
        overrides = self.overrides()
        overrides["model"].update(model_overrides)
        return chaos_preset_config(self.preset.currentText(), overrides)
