"""The GKN lab: it trains and samples GKN models in worker threads, keeps what they deliver in a
LiveState, and draws it in its views (1D and 2D manifolds, the kaleidoscope, the loss) with the replay
bar under them. It computes no science itself (the jobs in gkn_core do, in their own threads).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PyQt6.QtCore import QObject, Qt
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QWidget
from superqt import QLabeledSlider

from app import export as exports
from app import gkn
from app.animation import AnimationOptions, render_item, scale_image
from app.gkn import compute_jobs
from app.gkn.chain_history import ChainHistory
from app.gkn.controls import ControlPanel
from app.gkn.live import LiveState
from app.host import ExportSpec, LabHost
from app.lab import Lab
from app.widgets import StepBar
from app.worker import LIVE_DELIVERY_S, TRAIN_DELIVERY_S
from gkn_core.data import Dataset
from gkn_core.errors import GKNError
from gkn_core.gkn.config import GKNConfig
from gkn_core.gkn.data import load_dataset
from gkn_core.gkn.export import export_run
from gkn_core.gkn.sample import SampleSnapshot
from gkn_core.gkn.sessions import sampling_session, training_session
from gkn_core.gkn.train import TrainSnapshot
from gkn_core.runs.format import INLINE_DATA_LIMIT
from gkn_core.runs.reader import open_run

ANIMATIONS = "Animations (*.gif *.mp4)"
ANIMATED_VIEWS = ("1d", "2d", "kaleidoscope")  # views an animation of sampling can be made of
TWIN_SOURCES = ("points", "uniform", "blobs", "ring", "moons")


def follow(slider: QLabeledSlider, count: int) -> int | None:
    """The index a slider asks for; None (the newest) while it sits at its right end."""
    at_end = slider.value() >= slider.maximum()
    slider.blockSignals(True)
    slider.setRange(0, max(0, count - 1))
    if at_end:
        slider.setValue(slider.maximum())
    slider.blockSignals(False)
    return None if at_end or count == 0 else slider.value()


class GknLab(Lab):
    KIND = "gkn"
    VIEWS = gkn.VIEWS
    EXPORTS = (
        ExportSpec("image grid (PNG)", "grid", "PNG (*.png)"),
        ExportSpec("chains (CSV, NPZ or HDF5)", "chains", "Recordings (*.csv *.npz *.h5)"),
        ExportSpec("animation of sampling (GIF or MP4)", "animation", ANIMATIONS),
    )
    SLOTS = ("train_thread", "sample_thread", "twin_thread")

    def __init__(self, host: LabHost, parent: QObject | None = None) -> None:
        super().__init__(host, parent)
        self.controls = ControlPanel()
        self.state = LiveState()
        self.twin_state: LiveState | None = None
        self.twin_title = ""
        self._drawn_version: Any = -1
        self.footer = self._replay_bar()

        c = self.controls
        self.connect_transport(c.train_buttons, self.train_play, self.train_step, self.train_reset)
        self.connect_transport(c.sample_buttons, self.sample_play, self.sample_step, self.sample_reset)
        c.model_settings_changed.connect(self._on_settings_changed)
        c.steps_per_frame_changed.connect(self._on_steps_per_frame)
        v = self.views
        v["1d"].chain_requested.connect(lambda x: self.start_chains_at(np.array([[x]], np.float32)))
        v["2d"].chain_requested.connect(lambda x, y: self.start_chains_at(np.array([[x, y]], np.float32)))
        v["2d"].basins_wanted.connect(self.compute_basins)
        v["1d"].twin_requested.connect(self.start_twin)
        v["1d"].comparison_closed.connect(self.close_comparison)
        v["kaleidoscope"].generation_requested.connect(self.generation_slider.setValue)
        c.preset.currentTextChanged.connect(lambda _: self.show_preview())
        self.show_preview()

    def show_preview(self) -> None:
        """Before the first run (and until one is trained or opened): the training data of the settings
        in every view, with a hint what to press."""
        if self.run_path is not None or self.alive(self.train_thread):
            return
        try:
            config = self.controls.training_config()
            dataset = load_dataset(config.data, config.seed)
        except (GKNError, OSError):
            return  # a bad setting says why when Train is pressed
        self.state = self._state_for(dataset)
        self._drawn_version = -1

    def _replay_bar(self) -> QWidget:
        """The one step control of every GKN view: the training step (manifolds, the loss marker) and
        the sampling generation (manifold tails, the kaleidoscope grid), each with a box to type it."""
        self.step_bar = StepBar(
            "training step", "Training step shown by every view (replay); at the right end: the latest"
        )
        self.frame_slider = self.step_bar.slider  # the index of the manifold frame shown
        self.step_bar.changed.connect(lambda _: self.render(self.front, force=True))
        self.generation_slider = QLabeledSlider(Qt.Orientation.Horizontal)
        self.generation_slider.setToolTip("Sampling generation shown (replay); at the right end: the latest")
        self.generation_slider.setRange(0, 0)
        self.generation_slider.valueChanged.connect(lambda _: self.render(self.front, force=True))
        bar = QWidget()
        replay = QHBoxLayout(bar)
        replay.setContentsMargins(0, 0, 0, 0)
        replay.addWidget(self.step_bar, stretch=1)
        replay.addWidget(QLabel("generation"))
        replay.addWidget(self.generation_slider, stretch=1)
        return bar

    # -- training ---------------------------------------------------------------------------------
    def _on_steps_per_frame(self, value: int) -> None:
        if self.alive(self.train_thread):
            worker = self.train_thread.worker
            worker.steps_per_frame = value
            # Full speed: ten deliveries a second redraw the views as often as new manifold frames
            # come, at a third of the GUI work (the GIL away from training) of thirty. Slow motion
            # (n steps per frame) is watched frame by frame.
            worker.deliver_every = LIVE_DELIVERY_S if value else TRAIN_DELIVERY_S

    def clear_model(self) -> None:
        self.state = LiveState()
        self.twin_state = None
        self.views["1d"].set_comparison(None)
        self._drawn_version = -1
        self.show_preview()
        self.render(self.front, force=True)

    def start_training(self, paused: bool, config: GKNConfig | None = None) -> bool:
        """A new run with the panel's settings (or with `config`: train again with a run's settings)."""
        if config is None:
            config = self.settings_for_new_run()
            if config is None:
                return False
        self.stop_slot("train_thread")  # a twin started first trains on beside the new run
        self.stop_slot("sample_thread")
        try:
            path = self.new_run_path(f"{config.preset}-L{config.model.layers}")
            job, snapshots, dataset = self._training(config, path)
        except (GKNError, OSError) as exc:
            self.host.show_error(str(exc))
            return False
        self.settings_changed = False
        self.run_path = path
        self.state = self._state_for(dataset)
        self.label_run(path.name)
        self.job_started("training", path)
        start = (compute_jobs.gkn_training, (config, path))  # job None: the compute process makes it
        known = {"config": config, "dataset": dataset}
        self.launch_training(start, job, snapshots, self._on_delivered, known, path, paused)
        self._on_steps_per_frame(self.controls.steps_per_frame.value())
        self.controls.train_buttons.show_running(not paused)
        self.host.remember_run(path)
        return True

    def _training(self, config: GKNConfig, path: Path) -> tuple[Any, Any, Dataset]:
        """(job, snapshots, data set); the job None for the compute process, which makes it itself."""
        if self.remote():
            return None, None, load_dataset(config.data, config.seed)
        job, snapshots = training_session(config, path)
        return job, snapshots, job.dataset

    @staticmethod
    def _state_for(dataset: Dataset) -> LiveState:
        data = dataset.x if dataset.x.size <= INLINE_DATA_LIMIT else None
        return LiveState(
            dim=dataset.dim, low=dataset.low, high=dataset.high, image_shape=dataset.image_shape, data=data
        )

    def start_twin(self, layers: int) -> bool:
        """A second model with the same settings but another depth, trained beside the first."""
        try:
            config = self.controls.checked_config()
            config = config.model_copy(update={"model": config.model.model_copy(update={"layers": layers})})
            if config.data.source not in TWIN_SOURCES:
                raise GKNError("the twin comparison is for 1D toy data")
            path = self.new_run_path(f"{config.preset}-L{layers}-twin")
            job, snapshots, dataset = self._training(config, path)
        except (GKNError, OSError) as exc:
            self.host.show_error(str(exc))
            return False
        self.stop_slot("twin_thread")
        self.twin_state = self._state_for(dataset)
        self.twin_title = f"twin L={layers}"
        deliver = lambda batch: self.twin_state.add_training(batch)  # noqa: E731
        start = (compute_jobs.gkn_training, (config, path))
        if job is None:
            self.launch_remote("twin_thread", start, deliver, run_file=path)
        else:
            self.launch("twin_thread", job, snapshots, deliver)
        self.host.remember_run(path)
        return True

    # -- sampling ---------------------------------------------------------------------------------
    def sample_play(self) -> None:
        self.play("sample_thread", self.controls.sample_buttons, self.start_sampling)

    def sample_step(self) -> None:
        self.step("sample_thread", self.controls.sample_buttons, self.start_sampling)

    def sample_reset(self) -> None:
        self.stop_slot("sample_thread", clear=False)
        self.state.chains = ChainHistory()
        self.state.version += 1
        self.controls.sample_buttons.show_running(False)

    def start_chains_at(self, starts: np.ndarray) -> None:
        """A click on a manifold: one chain from there."""
        self.start_sampling(paused=False, starts=starts)

    def start_sampling(self, paused: bool, starts: np.ndarray | None = None) -> bool:
        if self.run_path is None:
            self.host.show_error("train a model (or open a run) before sampling")
            return False
        if self.alive(self.train_thread):
            # The run file has one writer at a time: training ends here, with its checkpoint.
            self.stop_slot("train_thread", clear=False)
            self.controls.train_buttons.show_running(False)
        self.stop_slot("sample_thread", clear=False)
        overrides = self.controls.sample_overrides()
        if starts is not None:
            overrides["chains"] = len(starts)
        if self.remote():
            start = (compute_jobs.gkn_sampling, (self.run_path, overrides, starts))
            self.job_started("sampling", self.run_path)
            self.launch_remote(
                "sample_thread", start, self._on_delivered, run_file=self.run_path, paused=paused,
                started=lambda i: self.state.start_chains(i["starts"], i["burn_in"], i["start_quality"]),
            )  # fmt: skip
            self.controls.sample_buttons.show_running(not paused)
            return True
        try:
            job, snapshots = sampling_session(self.run_path, overrides, starts=starts)
        except (GKNError, OSError) as exc:
            self.host.show_error(str(exc))
            return False
        self.state.start_chains(job.starts, job.settings.burn_in, job.start_quality)
        self.job_started("sampling", self.run_path)
        if paused:
            job.pause()
        self.launch("sample_thread", job, snapshots, self._on_delivered)
        self.controls.sample_buttons.show_running(not paused)
        return True

    def toggle_play(self) -> None:  # Space: the sampling job if one is alive, else training
        (self.sample_play if self.alive(self.sample_thread) else self.train_play)()

    # -- results ----------------------------------------------------------------------------------
    def _on_delivered(self, batch: list) -> None:
        training = [s for s in batch if isinstance(s, TrainSnapshot)]
        sampling = [s for s in batch if isinstance(s, SampleSnapshot)]
        if training:
            self.state.add_training(training)
        if sampling:
            self.state.add_sampling(sampling)

    def job_ended(self, slot: str, current: bool, status: str, reason: str) -> None:
        if current and slot in ("train_thread", "sample_thread"):
            buttons = self.controls.train_buttons if slot == "train_thread" else self.controls.sample_buttons
            buttons.show_running(False)
        self.host.show_status(f"job {status}" + (f": {reason}" if reason else ""), 5000)
        self.host.refresh_runs()

    def compute_basins(self) -> None:
        if self.run_path is None or self.state.dim != 2:
            return
        args = (self.run_path, self.state.low, self.state.high)
        self.request(compute_jobs.gkn_basins, args, self.views["2d"].show_basins)

    # -- drawing ----------------------------------------------------------------------------------
    def view_shown(self, view: str) -> None:
        self.views["loss"].redraw_now()

    def render(self, view: str | None, force: bool = False) -> None:
        if view is None:
            return
        state = self.state
        version = (state.version, self.twin_state.version if self.twin_state else 0)
        if not force and version == self._drawn_version:
            return
        self._drawn_version = version
        frame = self.step_bar.follow(state.manifold_steps)
        if self.step_bar.isVisibleTo(self.footer) != bool(state.manifold_steps):
            self.step_bar.setVisible(bool(state.manifold_steps))  # image runs record no manifold frames
        generation = follow(self.generation_slider, len(state.chains))
        widget = self.views[view]
        widget.render(state, frame, generation)
        if view == "1d" and self.twin_state is not None:
            widget.set_comparison(self.twin_state, self.twin_title)

    @property
    def steps_per_second(self) -> float:
        return self.state.steps_per_second

    # -- runs -------------------------------------------------------------------------------------
    def read_replay(self, run: Any) -> tuple[LiveState, Any]:
        return LiveState.from_run(run), run.config

    def replay(self, path: Path, data: tuple[LiveState, Any]) -> str:
        self.stop_jobs()
        self.state, config = data
        self.twin_state = None
        self.views["1d"].set_comparison(None)
        self.controls.show_config(config)  # the panel describes the run replayed
        self.run_path = Path(path)
        self.settings_changed = False
        self.label_run(f"replay: {Path(path).name}")
        state = self.state
        if state.image_shape:
            return "kaleidoscope"
        return "1d" if state.dim == 1 else "2d" if state.dim == 2 else "loss"

    def close_comparison(self) -> None:
        """The comparison panel's close button: the twin (trained on, if alive) is dropped."""
        self.stop_slot("twin_thread")
        self.twin_state = None
        self.views["1d"].set_comparison(None)

    def compare_run(self, run: Any, path: Path) -> str:
        state = LiveState.from_run(run)
        title = f"L={run.config.model.layers} ({Path(path).name})"
        if state.dim != 1:
            raise GKNError(f"{path} is not a 1D run; the comparison panel shows 1D manifolds")
        self.views["1d"].set_comparison(state, title)
        return "1d"

    def available_exports(self) -> tuple[ExportSpec, ...]:
        state = self.state
        fits = {
            "grid": state.image_shape is not None and bool(state.chains),
            "chains": self.run_path is not None and bool(state.chains),
            "animation": bool(state.chains),
        }
        return tuple(spec for spec in self.EXPORTS if fits[spec.what])

    def export(self, what: str, path: Path, options: AnimationOptions | None = None) -> None:
        state = self.state
        if what == "grid":
            if state.image_shape is None or not state.chains:
                raise GKNError("no image grid yet: sample an image model first")
            generation = min(self.generation_slider.value(), len(state.chains) - 1)
            grid = self.views["kaleidoscope"].grid_mosaic(generation)
            exports.export_image(grid, state.low, state.high, path)
        elif what == "chains":
            if self.run_path is None:
                raise GKNError("no run yet")
            fmt = path.suffix.lower().lstrip(".")
            if fmt not in ("csv", "npz", "h5"):
                raise GKNError(f"{path.name}: chains export to .csv, .npz or .h5")
            with open_run(self.run_path) as run:
                export_run(run, "chains", fmt, path, overwrite=True)
        else:
            self.export_animation(path, options or AnimationOptions())

    def export_animation(self, path: Path, options: AnimationOptions) -> None:
        """Sampling, generation by generation: the image grid (arrays) or the manifold plot alone."""
        state = self.state
        if not state.chains:
            raise GKNError("nothing to animate yet: sample first")
        name = self.front
        if name not in ANIMATED_VIEWS:
            name = "kaleidoscope" if state.image_shape else ("1d" if state.dim == 1 else "2d")
        view = self.views[name]
        view.render(state, None, None)
        if name == "kaleidoscope":

            def frame(g: int) -> np.ndarray:
                return scale_image(view.grid_mosaic(g), state.low, state.high, options.width)
        else:
            item = view.export_items()[0]

            def frame(g: int) -> np.ndarray:
                view.render(state, None, g)
                return render_item(item, options.width)

        self.animate(len(state.chains), frame, path, options, lambda: self.render(self.front, force=True))
