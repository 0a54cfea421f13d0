"""Dynamics view: trajectories of a chaotic RNN (trained or untrained) as activity traces, a raster,
a projection on 3 principal components and the visible layer as images, scrubbed in time or played.

The trajectory job (gkn_core.chaos.trajectories) computes everything, in its own thread; this view
only draws its snapshots. The g slider, chains and steps ask the controller for a new job through
`settings_changed`, throttled so that dragging g restarts the job at most about 7 times a second.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from superqt import QLabeledDoubleSlider

from app.animation import AnimationOptions, render_item
from app.chaos.dynamics_state import DynamicsState, parse_units
from app.chaos.image_panel import ImagePanel
from app.chaos.projection import ProjectionPanel
from app.chaos.time_panels import TimePanels, plot_widget
from app.export import write_animation
from gkn_core.errors import GKNError

SOURCES = {"untrained": "untrained network (settings)", "trained": "trained network (run)"}
THROTTLE_MS = 150
UNITS_TIP = "Units whose traces are drawn: numbers index the state (visible first), or names v3, h0-3"


class DynamicsView(QWidget):
    # keys: source ("untrained" | "trained"), g, chains, steps, layers ("all" | "visible" | "hidden")
    settings_changed = pyqtSignal(dict)
    record_requested = pyqtSignal()

    def __init__(self) -> None:
        super().__init__()
        self.source = QComboBox()
        for key, label in SOURCES.items():
            self.source.addItem(label, key)
        self.g_slider = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
        self.g_slider.setRange(0.0, 3.0)
        self.g_slider.setSingleStep(0.05)
        self.g_slider.setDecimals(2)
        self.g_slider.setValue(1.5)
        self.g_slider.setToolTip("Gain g of the untrained network's random couplings (chaos above about 1)")
        self.chains = QSpinBox(minimum=1, maximum=64, value=6, toolTip="Initial conditions run at once")
        self.steps = QSpinBox(minimum=10, maximum=20_000, value=400, singleStep=50, toolTip="Euler steps")
        self.layers = QComboBox(toolTip="Layers whose states are recorded (and drawn in the raster)")
        for key, label in (("all", "all layers"), ("visible", "visible layer"), ("hidden", "hidden layers")):
            self.layers.addItem(label, key)
        self.record_button = QPushButton("Record")
        self.record_button.setToolTip(
            "Write the finished trajectories (with the network's settings) to a run"
        )
        self.units = QLineEdit(placeholderText="units: e.g. 0-3, 64-67 or v0-3, h0-3")
        self.units.setToolTip(UNITS_TIP)
        self.chain = QSpinBox(minimum=0, maximum=0, toolTip="Chain shown in the traces and the raster")
        self.mode = QComboBox()
        self.mode.addItems(["2D", "3D"])
        self.azimuth = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=359, value=30)
        self.azimuth.setToolTip("3D: turn the view about PC3")
        self.azimuth.setEnabled(False)
        self.info = QLabel("no trajectories yet")

        self.time_panels = TimePanels()
        self.traces_plot, self.raster_plot = self.time_panels.traces_plot, self.time_panels.raster_plot
        self.images = ImagePanel()
        self.projection_plot, self.image_plot = plot_widget("projection"), self.images.widget
        self.projection_plot.setToolTip(
            "One colour per chain: x its start, the dot the time shown, a fading tail"
        )
        projection = self.projection_plot.getPlotItem()
        projection.setAspectLocked(True)
        projection.setMouseEnabled(x=False, y=False)
        self.panel = ProjectionPanel(projection)

        self.time_slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=0)
        self.time_slider.setToolTip("Time shown in the projection and the images (scrub)")
        self.play_button = QPushButton("Play", checkable=True, toolTip="Play the trajectories in time")
        self.time_label = QLabel("t = 0 tau")
        self.play_timer = QTimer(self, interval=40)
        self.throttle = QTimer(self, singleShot=True, interval=THROTTLE_MS)
        self._layout_widgets()

        self.state: DynamicsState | None = None
        self._drawn: tuple[int, int] | None = None
        self._columns: list[int] = []
        self._last_emitted: dict[str, Any] | None = None
        self.follow_latest = True
        for signal in (self.source.currentIndexChanged, self.g_slider.valueChanged, self.chains.valueChanged,
                       self.steps.valueChanged, self.layers.currentIndexChanged):  # fmt: skip
            signal.connect(self._on_setting)
        self.source.currentIndexChanged.connect(self._sync_enabled)
        self.throttle.timeout.connect(self._emit_settings)
        self.record_button.clicked.connect(self.record_requested)
        self.units.textChanged.connect(lambda _: self._redraw())
        self.chain.valueChanged.connect(lambda _: self._redraw())
        self.mode.currentIndexChanged.connect(self._on_mode)
        self.azimuth.valueChanged.connect(self._on_mode)
        self.time_slider.valueChanged.connect(self._on_time)
        self.play_button.toggled.connect(self._on_play)
        self.play_timer.timeout.connect(self._advance_playback)
        self._sync_enabled()

    def _layout_widgets(self) -> None:
        row1, row2, bottom = QHBoxLayout(), QHBoxLayout(), QHBoxLayout()
        row1_widgets = (
            *(QLabel("network"), self.source, QLabel("g"), self.g_slider, QLabel("chains"), self.chains),
            *(QLabel("steps"), self.steps, self.layers, self.record_button),
        )
        for widget in row1_widgets:
            row1.addWidget(widget, stretch=2 if widget is self.g_slider else 0)
        for widget in (QLabel("traces of"), self.units, QLabel("chain"), self.chain, QLabel("projection"),
                       self.mode, QLabel("turn"), self.azimuth):  # fmt: skip
            row2.addWidget(widget, stretch=1 if widget in (self.units, self.azimuth) else 0)
        for widget in (self.play_button, self.time_slider, self.time_label):
            bottom.addWidget(widget, stretch=1 if widget is self.time_slider else 0)
        grid = QGridLayout()
        grid.addWidget(self.traces_plot, 0, 0)
        grid.addWidget(self.raster_plot, 1, 0)
        grid.addWidget(self.projection_plot, 0, 1)
        grid.addWidget(self.image_plot, 1, 1)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for part in (row1, row2):
            layout.addLayout(part)
        layout.addWidget(self.info)
        layout.addLayout(grid, stretch=1)
        layout.addLayout(bottom)

    # -- settings --------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        return {
            "source": self.source.currentData(),
            "g": round(round(self.g_slider.value() / 0.05) * 0.05, 2),
            "chains": self.chains.value(),
            "steps": self.steps.value(),
            "layers": self.layers.currentData(),
        }

    def set_settings(self, **values: Any) -> None:
        """Show settings chosen elsewhere (source, g, chains, steps) without asking for a new job."""
        widgets = {"g": self.g_slider, "chains": self.chains, "steps": self.steps}
        for key, value in values.items():
            widget = {"source": self.source, "layers": self.layers}.get(key) or widgets[key]
            widget.blockSignals(True)
            if key in ("source", "layers"):
                widget.setCurrentIndex(max(0, widget.findData(value)))
            else:
                widget.setValue(value)
            widget.blockSignals(False)
        self._last_emitted = self.settings()
        self._sync_enabled()

    def _on_setting(self, *_: Any) -> None:
        if not self.throttle.isActive():  # throttle, not restart: a long drag still updates live
            self.throttle.start()

    def _emit_settings(self) -> None:
        current = self.settings()
        if current != self._last_emitted:
            self._last_emitted = current
            self.settings_changed.emit(current)

    def _sync_enabled(self, *_: Any) -> None:
        self.g_slider.setEnabled(self.source.currentData() == "untrained")

    def set_image_shape(self, shape: tuple[int, int] | None) -> None:
        """The data's image shape (8x8, 28x28); None draws the visible layer as one row of pixels."""
        self.images.set_image_shape(shape)
        self._drawn = None

    # -- drawing ---------------------------------------------------------------------------------
    def render(self, state: DynamicsState) -> None:
        """Redraw when the state changed; the shown time follows the newest frame while the time
        slider sits at its right end."""
        self.state = state
        if (id(state), state.version) == self._drawn:
            return
        self._drawn = (id(state), state.version)
        self._redraw()

    def _redraw(self) -> None:
        state = self.state
        n = 0 if state is None else state.n_frames
        self.time_slider.blockSignals(True)
        self.time_slider.setMaximum(max(0, n - 1))
        if self.follow_latest:
            self.time_slider.setValue(max(0, n - 1))
        self.time_slider.blockSignals(False)
        self.record_button.setEnabled(state is not None and state.done)
        if state is None or not n:
            self.info.setText(
                "computing the trajectories ..." if state is not None else "no trajectories yet"
            )
            self.time_panels.clear()
            self.images.clear()
            self.panel.set_data(np.zeros((0, 0, 3), np.float32), np.zeros(3))
            self.panel.show(0)
            return
        snap = state.latest
        chains = state.states.shape[0]
        self.chain.blockSignals(True)
        self.chain.setMaximum(chains - 1)
        self.chain.blockSignals(False)
        self.info.setText(
            f"{snap.source} network, g = {snap.g:g}: {chains} chains, {n} frames "
            f"(t = {state.t[0]:g} .. {state.t[-1]:g} tau), {len(snap.units)} units recorded"
            + ("" if state.done else f"; computing {snap.step}/{snap.total_steps}")
        )
        self.time_panels.draw(state, self.chain.value(), self._chosen_columns(state))
        self.panel.set_data(state.projection, snap.explained)
        self.show_time(self.time_slider.value())

    def _chosen_columns(self, state: DynamicsState) -> list[int]:
        """The trace units typed in the field; bad text keeps the last good choice and says why."""
        names = state.latest.unit_names
        try:
            self._columns = parse_units(self.units.text(), names, state.latest.units)
            self.units.setStyleSheet("")
            self.units.setToolTip(UNITS_TIP)
        except ValueError as exc:
            self.units.setStyleSheet("QLineEdit { border: 2px solid #d62728; }")
            self.units.setToolTip(str(exc))
            self._columns = [c for c in self._columns if c < len(names)]
        return self._columns

    def show_time(self, index: int) -> None:
        """Draw frame `index` in the projection and the image panel (also used for animations)."""
        state = self.state
        if state is None or not state.n_frames:
            return
        index = int(min(max(index, 0), state.n_frames - 1))
        if self.time_slider.value() != index:
            self.time_slider.blockSignals(True)
            self.time_slider.setValue(index)
            self.time_slider.blockSignals(False)
        t = float(state.t[index])
        self.time_panels.set_time(t)
        self.time_label.setText(f"t = {t:.1f} tau (frame {index})")
        self.panel.show(index)
        self.images.draw(state, index, t)

    # -- interaction -----------------------------------------------------------------------------
    def _on_time(self, value: int) -> None:
        self.follow_latest = value >= self.time_slider.maximum()
        self.show_time(value)

    def _on_mode(self, *_: Any) -> None:
        three_d = self.mode.currentText() == "3D"
        self.azimuth.setEnabled(three_d)
        self.panel.set_mode("3d" if three_d else "2d", float(self.azimuth.value()))
        if self.state is not None and self.state.n_frames:
            self.panel.show(self.time_slider.value())

    def _on_play(self, playing: bool) -> None:
        self.play_button.setText("Pause" if playing else "Play")
        if playing and self.time_slider.value() >= self.time_slider.maximum():
            self.time_slider.setValue(0)
        (self.play_timer.start if playing else self.play_timer.stop)()

    def _advance_playback(self) -> None:
        stride = max(1, self.time_slider.maximum() // 200)  # a whole run plays in about 8 s
        if self.time_slider.value() >= self.time_slider.maximum():
            self.play_button.setChecked(False)
        else:
            self.time_slider.setValue(min(self.time_slider.value() + stride, self.time_slider.maximum()))

    # -- export ----------------------------------------------------------------------------------
    def export_items(self) -> list[pg.PlotItem]:
        """The plots for PNG/SVG export, the projection first."""
        return [
            w.getPlotItem()
            for w in (self.projection_plot, self.traces_plot, self.raster_plot, self.image_plot)
        ]

    def animation_widget(self, kind: str) -> QWidget:
        """The widget grabbed for an animation: 'images' (the visible layer) or 'projection'."""
        if kind not in ("images", "projection"):
            raise GKNError(f"animation: {kind!r} is not one of images, projection")
        return self.image_plot if kind == "images" else self.projection_plot

    @property
    def time_index(self) -> int:
        return self.time_slider.value()


def animation_frames(
    view: DynamicsView,
    state: DynamicsState,
    kind: str,
    options: AnimationOptions | None,
    max_frames: int = 150,
) -> tuple[int, Callable[[int], np.ndarray], Callable[[], None]]:
    """The evolving images or projection as figures (the plot alone, at the chosen width): the frame
    count (at most `max_frames`, evenly spaced over the trajectories), the frame maker, and what
    puts the shown time back."""
    item = view.animation_widget(kind).getPlotItem()
    if state.n_frames == 0:
        raise GKNError("no trajectories yet: open the Dynamics view and let them run")
    width = (options or AnimationOptions()).width
    view.render(state)
    shown, follow = view.time_index, view.follow_latest
    indices = np.unique(np.linspace(0, state.n_frames - 1, min(state.n_frames, max_frames)).round())

    def frame(i: int) -> np.ndarray:
        view.show_time(int(indices[i]))
        return render_item(item, width)

    def restore() -> None:
        view.show_time(shown)
        view.follow_latest = follow

    return len(indices), frame, restore


def export_animation(
    view: DynamicsView, state: DynamicsState, kind: str, path: Path, max_frames: int = 150, fps: float = 15.0
) -> int:
    """The same frames written at once, in the calling thread (scripts, tests); returns the count."""
    count, frame, restore = animation_frames(view, state, kind, None, max_frames)
    try:
        frames = [frame(i) for i in range(count)]
    finally:
        restore()
    write_animation(frames, Path(path), fps)
    return count
