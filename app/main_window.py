"""The main window: controls, live views, the replay bar, runs, exports.

It starts jobs in worker threads (app/worker.py), keeps what they deliver in a LiveState, and redraws
the visible view on a ~30 fps timer. It computes no science itself.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
from PyQt6.QtCore import QSettings, QStandardPaths, Qt, QTimer
from PyQt6.QtGui import QAction, QKeySequence, QShortcut
from PyQt6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from superqt import QLabeledSlider

from app import export as exports
from app.chaos.controller import ChaosLab
from app.controls import ControlPanel
from app.live import LiveState
from app.views.kaleidoscope import KaleidoscopeView
from app.views.loss import LossView
from app.views.manifold1d import OneDView
from app.views.manifold2d import TwoDView
from app.views.runs import RunsView
from app.views.sweep import SweepView
from app.worker import FunctionThread, JobThread
from gkn_core.data import Dataset
from gkn_core.errors import GKNError
from gkn_core.gkn.export import export_run
from gkn_core.gkn.manifolds import basins_2d
from gkn_core.gkn.sample import SampleSnapshot
from gkn_core.gkn.sessions import sampling_session, training_session
from gkn_core.gkn.train import TrainSnapshot
from gkn_core.runs.format import INLINE_DATA_LIMIT
from gkn_core.runs.reader import open_run

VIEWS = ("1d", "2d", "kaleidoscope", "loss", "chaos", "dynamics", "lyapunov", "sweep", "runs")
TITLES = (
    "1D manifolds",
    "2D manifolds",
    "Kaleidoscope",
    "Loss",
    "Chaos training",
    "Dynamics",
    "Lyapunov",
    "Sweeps",
    "Runs",
)
CHAOS_VIEWS = ("chaos", "dynamics", "lyapunov")
STATIC_VIEWS = ("sweep", "runs")  # tables and sweeps: no live state to render
ANIMATIONS = "Animations (*.gif *.mp4)"
EXPORTS = (  # (what the user picks, export kind, file filter)
    ("current plot (PNG or SVG)", "plot", "Figures (*.png *.svg)"),
    ("image grid (PNG)", "grid", "PNG (*.png)"),
    ("chains (CSV, NPZ or HDF5)", "chains", "Recordings (*.csv *.npz *.h5)"),
    ("animation of sampling (GIF or MP4)", "animation", ANIMATIONS),
    ("chaos: sample grid (PNG)", "chaos-grid", "PNG (*.png)"),
    ("chaos: trajectory recording (HDF5, NPZ or CSV)", "recording", "Recordings (*.h5 *.npz *.csv)"),
    ("chaos: visible layer over time (GIF or MP4)", "dynamics-images", ANIMATIONS),
    ("chaos: trajectory projection over time (GIF or MP4)", "dynamics-projection", ANIMATIONS),
)
REDRAW_MS = 33  # about 30 fps: no screen needs more for these plots
TRAIN_DELIVERY_S = 0.1  # training snapshots reach the window in batches, ten times a second
MAX_RECENT = 12


def default_runs_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".gkn-studio") / "runs"


class MainWindow(QMainWindow):
    def __init__(self, runs_dir: Path | None = None, settings: QSettings | None = None) -> None:
        super().__init__()
        self.setWindowTitle("GKN Studio")
        self.setAcceptDrops(True)
        self.settings = settings if settings is not None else QSettings("GKN Studio", "GKN Studio")
        self.runs_dir = Path(runs_dir) if runs_dir is not None else default_runs_dir()
        self.state = LiveState()
        self.run_path: Path | None = None
        self.train_thread: JobThread | None = None
        self.sample_thread: JobThread | None = None
        self.twin_thread: JobThread | None = None
        self.twin_state: LiveState | None = None
        self.helper_threads: list[FunctionThread] = []
        self.settings_changed = False
        self.last_error = ""
        self._drawn_version = -1

        self.controls = ControlPanel()
        self.chaos = ChaosLab(self)
        # The dock shows the settings of the family of the front view: GKN or chaotic RNN.
        self.settings_pages = QStackedWidget()
        for panel in (self.controls, self.chaos.controls):
            scroll = QScrollArea()
            scroll.setWidget(panel)
            scroll.setWidgetResizable(True)
            self.settings_pages.addWidget(scroll)
        dock = QDockWidget("Settings", self)
        dock.setObjectName("settings-dock")
        dock.setWidget(self.settings_pages)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)

        self.views = {
            "1d": OneDView(),
            "2d": TwoDView(),
            "kaleidoscope": KaleidoscopeView(),
            "loss": LossView(),
            **self.chaos.views,
            "sweep": SweepView(),
            "runs": RunsView(),
        }
        self.tabs = QTabWidget()
        for name, title in zip(VIEWS, TITLES, strict=True):
            self.tabs.addTab(self.views[name], title)
        self.tabs.currentChanged.connect(self._on_tab_changed)

        self.frame_slider = QLabeledSlider(Qt.Orientation.Horizontal)
        self.frame_slider.setToolTip(
            "Training step of the manifold shown (replay); at the right end: the latest"
        )
        self.generation_slider = QLabeledSlider(Qt.Orientation.Horizontal)
        self.generation_slider.setToolTip("Sampling generation shown (replay); at the right end: the latest")
        for slider in (self.frame_slider, self.generation_slider):
            slider.setRange(0, 0)
            slider.valueChanged.connect(lambda _: self.redraw(force=True))
        self.replay_bar = QWidget()
        replay = QHBoxLayout(self.replay_bar)
        replay.setContentsMargins(0, 0, 0, 0)
        replay.addWidget(QLabel("manifold frame"))
        replay.addWidget(self.frame_slider, stretch=1)
        replay.addWidget(QLabel("generation"))
        replay.addWidget(self.generation_slider, stretch=1)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.tabs, stretch=1)
        layout.addWidget(self.replay_bar)
        self.setCentralWidget(central)

        self.device_label, self.rate_label, self.file_label = (
            QLabel("device: -"),
            QLabel(""),
            QLabel("no run"),
        )
        for label in (self.device_label, self.rate_label, self.file_label):
            self.statusBar().addPermanentWidget(label)
        self._build_menus()
        self._connect()
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self.redraw)
        self.timer.start()
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
            self.restoreState(self.settings.value("window_state"))
        else:
            self.resize(1400, 860)
        self.views["runs"].show_runs(self.recent_runs())

    # -- set-up -----------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for text, key, slot in (
            ("&Open run...", QKeySequence.StandardKey.Open, self.open_run_dialog),
            ("Open s&weep folder...", QKeySequence("Ctrl+Shift+O"), self.open_sweep_dialog),
            ("&Save run as...", QKeySequence.StandardKey.Save, self.save_run_dialog),
            ("&Export...", QKeySequence("Ctrl+E"), self.export_dialog),
        ):
            action = QAction(text, self)
            action.setShortcut(key)
            action.triggered.connect(slot)
            file_menu.addAction(action)
        self.recent_menu = file_menu.addMenu("Recent runs")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu("&View")
        for index in range(len(VIEWS)):
            action = QAction(self.tabs.tabText(index), self)
            action.setShortcut(QKeySequence(f"Ctrl+{index + 1}"))
            action.triggered.connect(lambda _=False, i=index: self.tabs.setCurrentIndex(i))
            view_menu.addAction(action)
        space = QShortcut(QKeySequence(Qt.Key.Key_Space), self)
        space.activated.connect(self.toggle_play)

    def _connect(self) -> None:
        c = self.controls
        c.train_buttons.play.connect(self.train_play)
        c.train_buttons.step.connect(self.train_step)
        c.train_buttons.reset.connect(self.train_reset)
        c.sample_buttons.play.connect(self.sample_play)
        c.sample_buttons.step.connect(self.sample_step)
        c.sample_buttons.reset.connect(self.sample_reset)
        c.model_settings_changed.connect(self._on_settings_changed)
        c.steps_per_frame_changed.connect(self._on_steps_per_frame)
        self.views["1d"].chain_requested.connect(lambda x: self.start_chains_at(np.array([[x]], np.float32)))
        self.views["2d"].chain_requested.connect(
            lambda x, y: self.start_chains_at(np.array([[x, y]], np.float32))
        )
        self.views["2d"].basins_wanted.connect(self.compute_basins)
        self.views["1d"].twin_requested.connect(self.start_twin)
        self.views["kaleidoscope"].generation_changed.connect(self._on_kaleidoscope_generation)
        self.views["runs"].open_requested.connect(self.open_run_file)
        self.views["runs"].compare_requested.connect(self.compare_run_file)
        self.views["sweep"].run_requested.connect(self.open_run_file)

    # -- messages ---------------------------------------------------------------------------------
    def show_error(self, message: str) -> None:
        """One line in a dialog that does not block the window (nor a test)."""
        self.last_error = message
        self.statusBar().showMessage(message, 10_000)
        box = QMessageBox(QMessageBox.Icon.Warning, "GKN Studio", message, parent=self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def confirm(self, question: str) -> bool:
        answer = QMessageBox.question(self, "GKN Studio", question)
        return answer == QMessageBox.StandardButton.Yes

    # -- training ---------------------------------------------------------------------------------
    def _alive(self, thread: JobThread | None) -> bool:
        return thread is not None and not thread.finished

    def _on_settings_changed(self) -> None:
        self.settings_changed = True

    def _on_steps_per_frame(self, value: int) -> None:
        if self._alive(self.train_thread):
            worker = self.train_thread.worker
            worker.steps_per_frame = value
            # Full speed: ten deliveries a second redraw the views as often as new manifold frames
            # come, at a third of the GUI work (the GIL away from training) of thirty. Slow motion
            # (n steps per frame) is watched frame by frame.
            worker.deliver_every = 1 / 30 if value else TRAIN_DELIVERY_S

    def _toggle_pause(self, thread: JobThread | None, buttons) -> bool:
        """Pause or resume a live job; False when there is none to toggle."""
        if not self._alive(thread):
            return False
        job = thread.job
        job.resume() if job.is_paused else job.pause()
        buttons.show_running(not job.is_paused)
        return True

    @staticmethod
    def _step_once(thread: JobThread, buttons) -> None:
        thread.job.pause()
        thread.job.advance_one()
        buttons.show_running(False)

    def train_play(self) -> None:
        if not self._toggle_pause(self.train_thread, self.controls.train_buttons):
            self.start_training(paused=False)

    def train_step(self) -> None:
        if self._alive(self.train_thread) or self.start_training(paused=True):
            self._step_once(self.train_thread, self.controls.train_buttons)

    def train_reset(self) -> None:
        if self.run_path is not None and not self.confirm("Discard the current model and clear the views?"):
            return
        self.stop_jobs()
        self.state = LiveState()
        self.twin_state = None
        self.views["1d"].set_comparison(None)
        self.run_path = None
        self.file_label.setText("no run")
        self._drawn_version = -1
        self.redraw(force=True)

    def start_training(self, paused: bool) -> bool:
        if (
            self.run_path is not None
            and self.settings_changed
            and not self.confirm("The settings changed: discard the current model and train a new one?")
        ):
            return False
        self.stop_jobs(keep_twin=True)  # a twin started first trains on beside the new run
        try:
            config = self.controls.training_config()
            path = self._new_run_path(config)
            job, snapshots = training_session(config, path)
        except (GKNError, OSError) as exc:
            self.show_error(str(exc))
            return False
        self.settings_changed = False
        self.run_path = path
        self.state = self._state_for(job.dataset)
        self.file_label.setText(path.name)
        self.device_label.setText(f"device: {job.device}")
        if paused:
            job.pause()
        self.train_thread = self._launch(job, snapshots)
        self._on_steps_per_frame(self.controls.steps_per_frame.value())
        self.controls.train_buttons.show_running(not paused)
        self.remember_run(path)
        return True

    def _new_run_path(self, config, tag: str = "") -> Path:
        """A fresh file in the runs folder, named by preset, depth and time."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        return self.runs_dir / f"{config.preset}-L{config.model.layers}{tag}-{stamp}.h5"

    def _state_for(self, dataset: Dataset) -> LiveState:
        data = dataset.x if dataset.x.size <= INLINE_DATA_LIMIT else None
        return LiveState(
            dim=dataset.dim, low=dataset.low, high=dataset.high, image_shape=dataset.image_shape, data=data
        )

    def _launch(self, job, snapshots) -> JobThread:
        thread = JobThread(job, snapshots, self)
        thread.delivered.connect(self._on_delivered)
        thread.ended.connect(self._on_ended)
        thread.start()
        return thread

    def start_twin(self, layers: int) -> bool:
        """A second model with the same settings but another depth, trained beside the first."""
        try:
            config = self.controls.training_config()
            config = config.model_copy(update={"model": config.model.model_copy(update={"layers": layers})})
            if config.data.source not in ("points", "uniform", "blobs", "ring", "moons"):
                raise GKNError("the twin comparison is for 1D toy data")
            path = self._new_run_path(config, "-twin")
            job, snapshots = training_session(config, path)
        except (GKNError, OSError) as exc:
            self.show_error(str(exc))
            return False
        if self.twin_thread is not None:
            self.twin_thread.stop()
        self.twin_state = self._state_for(job.dataset)
        self.twin_title = f"twin L={layers}"
        thread = JobThread(job, snapshots, self)
        thread.delivered.connect(lambda batch: self.twin_state.add_training(batch))
        thread.ended.connect(self._on_ended)
        thread.start()
        self.twin_thread = thread
        self.remember_run(path)
        return True

    # -- sampling ---------------------------------------------------------------------------------
    def sample_play(self) -> None:
        if not self._toggle_pause(self.sample_thread, self.controls.sample_buttons):
            self.start_sampling(paused=False)

    def sample_step(self) -> None:
        if self._alive(self.sample_thread) or self.start_sampling(paused=True):
            self._step_once(self.sample_thread, self.controls.sample_buttons)

    def sample_reset(self) -> None:
        if self.sample_thread is not None:
            self.sample_thread.stop()
        self.state.chains = []
        self.state.version += 1
        self.controls.sample_buttons.show_running(False)

    def start_chains_at(self, starts: np.ndarray) -> None:
        """A click on a manifold: one chain from there."""
        self.start_sampling(paused=False, starts=starts)

    def start_sampling(self, paused: bool, starts: np.ndarray | None = None) -> bool:
        if self.run_path is None:
            self.show_error("train a model (or open a run) before sampling")
            return False
        if self._alive(self.train_thread):
            # The run file has one writer at a time: training ends here, with its checkpoint.
            self.train_thread.stop()
            self.controls.train_buttons.show_running(False)
        if self.sample_thread is not None:
            self.sample_thread.stop()
        overrides = self.controls.sample_overrides()
        if starts is not None:
            overrides["chains"] = len(starts)
        try:
            job, snapshots = sampling_session(self.run_path, overrides, starts=starts)
        except (GKNError, OSError) as exc:
            self.show_error(str(exc))
            return False
        self.state.start_chains(job.starts, job.settings.burn_in)
        if paused:
            job.pause()
        self.sample_thread = self._launch(job, snapshots)
        self.controls.sample_buttons.show_running(not paused)
        return True

    def toggle_play(self) -> None:
        """Space: chaos training on a chaos view; else the sampling job if one is alive, else training."""
        if self.chaos_view_in_front():
            self.chaos.train_play()
        else:
            (self.sample_play if self._alive(self.sample_thread) else self.train_play)()

    def chaos_view_in_front(self) -> bool:
        return VIEWS[self.tabs.currentIndex()] in CHAOS_VIEWS

    # -- results ----------------------------------------------------------------------------------
    def _on_delivered(self, batch: list) -> None:
        training = [s for s in batch if isinstance(s, TrainSnapshot)]
        sampling = [s for s in batch if isinstance(s, SampleSnapshot)]
        if training:
            self.state.add_training(training)
        if sampling:
            self.state.add_sampling(sampling)

    def _on_ended(self, status: str, reason: str) -> None:
        sender = self.sender()
        if isinstance(sender, JobThread) and sender in (self.train_thread, self.sample_thread):
            buttons = (
                self.controls.train_buttons if sender is self.train_thread else self.controls.sample_buttons
            )
            buttons.show_running(False)
        if status == "failed":
            self.show_error(f"the job failed: {reason}")
        self.statusBar().showMessage(f"job {status}" + (f": {reason}" if reason else ""), 5000)
        self.refresh_runs()

    def refresh_runs(self) -> None:
        self.views["runs"].show_runs(self.recent_runs())

    def compute_basins(self) -> None:
        if self.run_path is None or self.state.dim != 2:
            return
        path, low, high = self.run_path, self.state.low, self.state.high

        def basins():
            with open_run(path) as run:
                model = run.load_model()
            return basins_2d(model, low, high, n=128)

        helper = FunctionThread(basins, self)
        helper.done.connect(self.views["2d"].show_basins)
        helper.failed.connect(self.show_error)
        self.helper_threads.append(helper)
        helper.start()

    def redraw(self, force: bool = False) -> None:
        if self.chaos_view_in_front():  # the chaos views keep their own versions
            self.chaos.render(self.tabs.currentWidget())
            self.rate_label.setText(f"{self.chaos.steps_per_second:,.0f} steps/s")
            return
        state = self.state
        version = (state.version, self.twin_state.version if self.twin_state else 0)
        if not force and version == self._drawn_version:
            return
        self._drawn_version = version
        frame = self._follow(self.frame_slider, len(state.manifolds))
        generation = self._follow(self.generation_slider, len(state.chains))
        view = self.tabs.currentWidget()
        if VIEWS[self.tabs.currentIndex()] not in STATIC_VIEWS:
            view.render(state, frame, generation)
        if view is self.views["1d"] and self.twin_state is not None:
            view.set_comparison(self.twin_state, self.twin_title)
        self.rate_label.setText(f"{state.steps_per_second:,.0f} steps/s")

    def _on_tab_changed(self, index: int) -> None:
        name = VIEWS[index]
        if name not in STATIC_VIEWS:
            self.settings_pages.setCurrentIndex(1 if name in CHAOS_VIEWS else 0)
        self.replay_bar.setVisible(name not in CHAOS_VIEWS + STATIC_VIEWS)
        if name in ("dynamics", "lyapunov"):
            self.chaos.ensure_dynamics()
        self.views["loss"].redraw_now()
        self.redraw(force=True)

    @staticmethod
    def _follow(slider: QLabeledSlider, count: int) -> int | None:
        """The index a slider asks for; None (the newest) while it sits at its right end."""
        at_end = slider.value() >= slider.maximum()
        slider.blockSignals(True)
        slider.setRange(0, max(0, count - 1))
        if at_end:
            slider.setValue(slider.maximum())
        slider.blockSignals(False)
        return None if at_end or count == 0 else slider.value()

    def _on_kaleidoscope_generation(self, generation: int) -> None:
        self.generation_slider.blockSignals(True)
        self.generation_slider.setValue(generation)
        self.generation_slider.blockSignals(False)

    # -- runs -------------------------------------------------------------------------------------
    def recent_runs(self) -> list[str]:
        value = self.settings.value("recent_runs", [])
        return [value] if isinstance(value, str) else list(value or [])

    def remember_run(self, path: Path) -> None:
        runs = [str(path)] + [p for p in self.recent_runs() if p != str(path)]
        self.settings.setValue("recent_runs", runs[:MAX_RECENT])
        self.views["runs"].show_runs(runs[:MAX_RECENT])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_runs():
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_run_file(p))

    def open_run_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open run", str(self.runs_dir), "Run files (*.h5);;All (*)"
        )
        if path:
            self.open_run_file(path)

    def open_sweep_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a sweep folder", str(self.runs_dir))
        if path:
            self.open_sweep_folder(path)

    def open_sweep_folder(self, path: str | Path) -> bool:
        """Compare the runs of a `gkn sweep` folder: any end metric against any swept field."""
        try:
            self.views["sweep"].open_folder(path)
        except GKNError as exc:
            self.show_error(str(exc))
            return False
        self.tabs.setCurrentIndex(VIEWS.index("sweep"))
        return True

    def open_run_file(self, path: str | Path) -> bool:
        """Replay a run: every view shows it, and the sliders scrub its steps and generations.
        A folder is taken for a sweep folder."""
        path = Path(path)
        if path.is_dir():
            return self.open_sweep_folder(path)
        try:
            with open_run(path) as run:
                kind = run.kind
                state = LiveState.from_run(run) if kind == "gkn" else None
            if kind == "chaos":
                self.chaos.open_run(path)
            elif kind != "gkn":
                raise GKNError(f"{path} is a {kind} run; this window shows gkn and chaos runs")
        except GKNError as exc:
            self.show_error(str(exc))
            return False
        self.file_label.setText(f"replay: {path.name}")
        self.remember_run(path)
        if kind == "chaos":
            self.tabs.setCurrentIndex(VIEWS.index("chaos"))
            self.redraw(force=True)
            return True
        self.stop_jobs()
        self.state = state
        self.run_path = path
        self.settings_changed = False
        self.tabs.setCurrentIndex(
            VIEWS.index(
                "kaleidoscope"
                if state.image_shape
                else ("1d" if state.dim == 1 else "2d" if state.dim == 2 else "loss")
            )
        )
        self.redraw(force=True)
        return True

    def compare_run_file(self, path: str | Path) -> bool:
        try:
            with open_run(path) as run:
                state = LiveState.from_run(run)
                title = f"L={run.config.model.layers} ({Path(path).name})"
        except GKNError as exc:
            self.show_error(str(exc))
            return False
        if state.dim != 1:
            self.show_error(f"{path} is not a 1D run; the comparison panel shows 1D manifolds")
            return False
        self.views["1d"].set_comparison(state, title)
        self.tabs.setCurrentIndex(VIEWS.index("1d"))
        return True

    def save_run_dialog(self) -> None:
        if self.run_path is None:
            self.show_error("no run to save yet")
            return
        target, _ = QFileDialog.getSaveFileName(self, "Save run as", self.run_path.name, "Run files (*.h5)")
        if target:
            try:
                shutil.copyfile(self.run_path, target)
            except OSError as exc:
                self.show_error(f"cannot save {target}: {exc.strerror or exc}")

    def export_dialog(self) -> None:
        labels = [label for label, _, _ in EXPORTS]
        label, ok = QInputDialog.getItem(self, "Export", "What to export", labels, 0, False)
        if not ok:
            return
        _, what, filter_ = EXPORTS[labels.index(label)]
        path, _ = QFileDialog.getSaveFileName(self, "Export to", "", filter_)
        if path:
            self.export(what, Path(path))

    def export(self, what: str, path: Path) -> bool:
        """Write an export; a bad target gets a dialog, never an exception."""
        try:
            if what == "plot":
                items = self.tabs.currentWidget().export_items()
                if not items:
                    raise GKNError("this view has no plot to export")
                exports.export_plot(items[0], path)
            elif what == "grid":
                view = self.views["kaleidoscope"]
                if self.state.image_shape is None or not self.state.chains:
                    raise GKNError("no image grid yet: sample an image model first")
                generation = self.generation_slider.value() if self.state.chains else 0
                exports.export_image(
                    view.grid_mosaic(min(generation, len(self.state.chains) - 1)),
                    self.state.low,
                    self.state.high,
                    path,
                )
            elif what == "chains":
                if self.run_path is None:
                    raise GKNError("no run yet")
                fmt = path.suffix.lower().lstrip(".")
                if fmt not in ("csv", "npz", "h5"):
                    raise GKNError(f"{path.name}: chains export to .csv, .npz or .h5")
                with open_run(self.run_path) as run:
                    export_run(run, "chains", fmt, path, overwrite=True)
            elif what == "chaos-grid":
                grid = self.chaos.training_view.grid_mosaic()
                if grid is None:
                    raise GKNError("no chaos samples yet: train a chaos model first")
                exports.export_image(grid, -1.0, 1.0, path)
            elif what == "recording":
                self.chaos.export_recording(path)
            elif what.startswith("dynamics-"):
                self.chaos.export_dynamics_animation(what.removeprefix("dynamics-"), path)
            else:
                self.export_animation(path)
        except (GKNError, OSError) as exc:
            self.show_error(str(exc))
            return False
        return True

    def export_animation(self, path: Path) -> None:
        state = self.state
        if not state.chains:
            raise GKNError("nothing to animate yet: sample first")
        view = self.tabs.currentWidget()
        if VIEWS[self.tabs.currentIndex()] in (*STATIC_VIEWS, *CHAOS_VIEWS, "loss"):
            view = self.views["kaleidoscope" if state.image_shape else ("1d" if state.dim == 1 else "2d")]
        frames = exports.grab_frames(view, lambda g: view.render(state, None, g), range(len(state.chains)))
        exports.write_animation(frames, path)
        self.redraw(force=True)

    # -- drag and drop, closing -------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            self.open_run_file(url.toLocalFile())
            break

    def stop_jobs(self, keep_twin: bool = False) -> None:
        threads = [self.train_thread, self.sample_thread] + ([] if keep_twin else [self.twin_thread])
        for thread in threads:
            if thread is not None:
                thread.stop()
        for helper in self.helper_threads:
            helper.wait(2000)
        self.helper_threads.clear()
        self.train_thread = self.sample_thread = None
        if not keep_twin:
            self.twin_thread = None

    def closeEvent(self, event) -> None:
        self.timer.stop()
        self.stop_jobs()
        self.chaos.stop_jobs()
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState())
        super().closeEvent(event)
