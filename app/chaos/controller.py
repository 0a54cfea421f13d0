"""The chaos lab's controller: it starts chaos jobs in worker threads and hands what they deliver to
the training, dynamics and Lyapunov views. The main window owns one and routes to it; it computes no
science itself (the jobs in gkn_core.chaos do, in their own threads).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PyQt6.QtCore import QObject

from app.chaos.controls import ChaosControlPanel
from app.chaos.dynamics_view import DynamicsState, DynamicsView, export_animation
from app.chaos.lyapunov_view import LyapunovState, LyapunovView
from app.chaos.training_state import ChaosTrainState
from app.chaos.training_view import ChaosTrainingView
from app.worker import FunctionThread, JobThread
from gkn_core.chaos.analysis import LyapunovAnalysisJob, LyapunovSettings
from gkn_core.chaos.config import ChaosConfig, ChaosDataConfig
from gkn_core.chaos.models import ChaoticRNN, build_chaos_model
from gkn_core.chaos.recordings import export_recording, new_untrained_run, write_recording
from gkn_core.chaos.runfile import load_chaos_model
from gkn_core.chaos.sessions import chaos_training_session
from gkn_core.chaos.train import load_chaos_dataset
from gkn_core.chaos.trajectories import TrajectoryJob, TrajectoryRecording, model_layers, trajectory_settings
from gkn_core.errors import GKNError
from gkn_core.runs.reader import open_run
from gkn_core.settings import validate_section

if TYPE_CHECKING:
    from app.main_window import MainWindow

TRAIN_DELIVERY_S = 0.1


def recorded_layers(model: ChaoticRNN, choice: str) -> tuple[str, ...]:
    """The view's layer choice ("all", "visible", "hidden") as the model's layer names."""
    if choice == "all":
        return ("all",)
    names = [name for name, _, _ in model_layers(model)]
    return ("visible",) if choice == "visible" else tuple(n for n in names if n != "visible")


class ChaosLab(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.controls = ChaosControlPanel()
        self.training_view = ChaosTrainingView()
        self.dynamics_view = DynamicsView()
        self.lyapunov_view = LyapunovView()
        self.train_state = ChaosTrainState()
        self.dynamics_state = DynamicsState()
        self.lyapunov_state = LyapunovState()
        self.train_thread: JobThread | None = None
        self.dynamics_thread: JobThread | None = None
        self.lyapunov_thread: JobThread | None = None
        self.helper_threads: list[FunctionThread] = []
        self.stopping: list[JobThread] = []  # asked to stop, still finishing their step
        self.run_path: Path | None = None
        self.settings_changed = False
        self.dynamics_settings: dict[str, Any] = {"source": "untrained"}
        self.last_recording: TrajectoryRecording | None = None
        self._data_shapes: dict[str, tuple[int, tuple[int, int] | None]] = {}

        c = self.controls
        c.train_buttons.play.connect(self.train_play)
        c.train_buttons.step.connect(self.train_step)
        c.train_buttons.reset.connect(self.train_reset)
        c.model_settings_changed.connect(self._on_settings_changed)
        self.dynamics_view.settings_changed.connect(self.restart_dynamics)
        self.dynamics_view.record_requested.connect(self.record)
        self.lyapunov_view.compute_requested.connect(self.start_lyapunov)
        self.lyapunov_view.stop_requested.connect(self.stop_lyapunov)

    @property
    def views(self) -> dict[str, Any]:
        return {"chaos": self.training_view, "dynamics": self.dynamics_view, "lyapunov": self.lyapunov_view}

    # -- training ---------------------------------------------------------------------------------
    @staticmethod
    def alive(thread: JobThread | None) -> bool:
        return thread is not None and not thread.finished

    def _on_settings_changed(self) -> None:
        self.settings_changed = True

    def train_play(self) -> None:
        if self.alive(self.train_thread):
            job = self.train_thread.job
            job.resume() if job.is_paused else job.pause()
            self.controls.train_buttons.show_running(not job.is_paused)
        else:
            self.start_training(paused=False)

    def train_step(self) -> None:
        if self.alive(self.train_thread) or self.start_training(paused=True):
            self.train_thread.job.pause()
            self.train_thread.job.advance_one()
            self.controls.train_buttons.show_running(False)

    def train_reset(self) -> None:
        if self.run_path is not None and not self.window.confirm(
            "Discard the chaos model and clear its views?"
        ):
            return
        self.stop_jobs()
        self.train_state = ChaosTrainState()
        self.run_path = None
        self.window.file_label.setText("no run")

    def start_training(self, paused: bool) -> bool:
        if (
            self.run_path is not None
            and self.settings_changed
            and not self.window.confirm("The settings changed: discard the chaos model and train a new one?")
        ):
            return False
        self.stop_thread("train_thread")
        try:
            config = self.controls.training_config()
            path = self.new_run_path(config)
            job, snapshots = chaos_training_session(config, path)
        except (GKNError, OSError) as exc:
            self.window.show_error(str(exc))
            return False
        self.settings_changed = False
        self.run_path = path
        self.train_state = ChaosTrainState(
            image_shape=job.dataset.image_shape, total_steps=job.total_steps, title=path.name
        )
        self.window.file_label.setText(path.name)
        self.window.device_label.setText(f"device: {job.device}")
        if paused:
            job.pause()
        self.train_thread = self._launch(job, snapshots, "train_thread", self.train_state.add)
        # The training view draws at most 4 times a second: 10 deliveries a second are plenty, and
        # each one the GUI thread handles is time the GIL is away from the training loop.
        self.train_thread.worker.deliver_every = TRAIN_DELIVERY_S
        self.controls.train_buttons.show_running(not paused)
        self.window.remember_run(path)
        return True

    def new_run_path(self, config: ChaosConfig, tag: str = "") -> Path:
        runs = self.window.runs_dir
        runs.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        name = config.preset or config.data.source
        return runs / f"chaos-{name}-{config.model.arch}-g{config.model.g:g}{tag}-{stamp}.h5"

    def _launch(self, job, snapshots, slot: str, deliver) -> JobThread:
        """Start a job in a thread kept as `self.<slot>`; batches that a replaced thread had already
        queued are dropped, so a restarted job never mixes with the old one."""
        thread = JobThread(job, snapshots, self)
        thread.delivered.connect(lambda batch, t=thread: deliver(batch) if getattr(self, slot) is t else None)
        thread.ended.connect(lambda status, reason, t=thread: self._on_ended(t, status, reason))
        thread.start()
        return thread

    def _on_ended(self, thread: JobThread, status: str, reason: str) -> None:
        if thread is self.train_thread:
            self.controls.train_buttons.show_running(False)
            self.window.refresh_runs()
        if thread is self.lyapunov_thread:
            self.lyapunov_view.set_busy(False)
        if status == "failed":
            self.window.show_error(f"the job failed: {reason}")

    # -- networks ---------------------------------------------------------------------------------
    def data_shape(self, data: ChaosDataConfig) -> tuple[int, tuple[int, int] | None]:
        """Visible units and image shape of the settings' data (loaded once per data setting)."""
        key = data.model_dump_json()
        if key not in self._data_shapes:
            dataset = load_chaos_dataset(data)
            self._data_shapes[key] = (dataset.dim, dataset.image_shape)
        return self._data_shapes[key]

    def network(
        self, source: str, g: float | None
    ) -> tuple[ChaoticRNN, ChaosConfig, str, tuple[int, int] | None]:
        """The network the dynamics and Lyapunov views study: untrained from the settings (at gain g),
        or the newest checkpoint of the current run."""
        if source == "trained":
            if self.run_path is None:
                raise GKNError("no chaos run yet: train one (or open one) to study the trained network")
            if self.alive(self.train_thread):
                # The run file is being written: take the newest checkpoint the job delivered.
                checkpoint = self.train_state.checkpoint
                if checkpoint is None:
                    raise GKNError("no checkpoint yet: the trained network is there at the first checkpoint")
                job = self.train_thread.job
                model = build_chaos_model(job.config.model, job.dataset.dim, "cpu", seed=job.config.seed)
                model.load_weights(checkpoint.weights)
                return model, job.config, f"checkpoint {checkpoint.step}", job.dataset.image_shape
            with open_run(self.run_path) as run:
                model, step = load_chaos_model(run)
                return model, run.config, f"checkpoint {step}", run.image_shape
        overrides = {} if g is None else {"g": g}
        config = self.controls.training_config(**overrides)
        n_visible, shape = self.data_shape(config.data)
        model = build_chaos_model(config.model, n_visible, "cpu", seed=config.seed)
        return model, config, "untrained", shape

    # -- dynamics ---------------------------------------------------------------------------------
    def restart_dynamics(self, settings: dict[str, Any] | None = None) -> bool:
        """(Re)start the trajectory job: a g slider move stops the old job and starts a new one."""
        if settings is not None:
            self.dynamics_settings = dict(settings)
        wanted = self.dynamics_settings
        self.stop_thread("dynamics_thread")
        try:
            model, config, source, shape = self.network(wanted.get("source", "untrained"), wanted.get("g"))
            trajectory = trajectory_settings(
                {k: wanted[k] for k in ("chains", "steps") if k in wanted}
                | {"seed": config.seed, "layers": recorded_layers(model, wanted.get("layers", "all"))}
            )
            job = TrajectoryJob(model, trajectory, source, model_seed=config.seed)
        except (GKNError, OSError) as exc:
            self.window.show_error(str(exc))
            return False
        self.dynamics_config = config
        self.dynamics_state.reset()
        self.dynamics_view.set_image_shape(shape)
        self.dynamics_thread = self._launch(job, iter(job), "dynamics_thread", self.dynamics_state.add)
        return True

    def ensure_dynamics(self) -> None:
        """The first look at the dynamics: the untrained network at the settings' g."""
        if self.dynamics_thread is None:
            self.dynamics_view.set_settings(g=self.controls.g.value())
            self.restart_dynamics(self.dynamics_view.settings())

    def record(self) -> bool:
        """Write the finished trajectory set into the run file (a new one for an untrained network)."""
        thread = self.dynamics_thread
        if thread is None or not thread.finished:
            self.window.show_error("the trajectories are still being computed: record when they are done")
            return False
        recording = thread.job.recording()
        config = self.dynamics_config
        untrained = recording.source == "untrained"
        if not untrained and self.alive(self.train_thread):
            self.stop_thread("train_thread")  # one writer per run file: training ends with its checkpoint
            self.controls.train_buttons.show_running(False)
        target = self.new_run_path(config, "-untrained") if untrained else self.run_path

        def write() -> tuple[Path, str]:
            if untrained:
                new_untrained_run(target, config)
            return target, write_recording(target, recording)

        self.last_recording = recording
        helper = FunctionThread(write, self)
        helper.done.connect(self._on_recorded)
        helper.failed.connect(self.window.show_error)
        self.helper_threads.append(helper)
        helper.start()
        return True

    def _on_recorded(self, result: tuple[Path, str]) -> None:
        path, name = result
        self.window.remember_run(path)
        self.window.statusBar().showMessage(f"recorded trajectories {name} into {path.name}", 8000)

    def export_recording(self, path: Path) -> None:
        """The trajectories shown (once finished), else the last ones recorded."""
        thread = self.dynamics_thread
        done = thread is not None and thread.finished and thread.job.steps_done > 0
        recording = thread.job.recording() if done else self.last_recording
        if recording is None:
            raise GKNError("no trajectories yet: open the Dynamics view and let them finish")
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in ("h5", "npz", "csv"):
            raise GKNError(f"{path.name}: recordings export to .h5, .npz or .csv")
        export_recording(recording, fmt, path, overwrite=True)

    def export_dynamics_animation(self, kind: str, path: Path) -> None:
        export_animation(self.dynamics_view, self.dynamics_state, kind, path)

    # -- Lyapunov ---------------------------------------------------------------------------------
    def start_lyapunov(self, raw: dict[str, Any]) -> bool:
        self.stop_thread("lyapunov_thread")
        wanted = self.dynamics_settings
        try:
            settings = validate_section(LyapunovSettings, raw, "lyapunov")
            model, config, _, _ = self.network(wanted.get("source", "untrained"), wanted.get("g"))
            job = LyapunovAnalysisJob(model, settings, model.n_visible, config.seed)
        except (GKNError, OSError) as exc:
            self.window.show_error(str(exc))
            return False
        self.lyapunov_state.reset()
        self.lyapunov_view.set_busy(True)
        self.lyapunov_thread = self._launch(job, iter(job), "lyapunov_thread", self.lyapunov_state.add)
        return True

    def stop_lyapunov(self) -> None:
        self.stop_thread("lyapunov_thread")
        self.lyapunov_view.set_busy(False)

    # -- replay, drawing, stopping ----------------------------------------------------------------
    def open_run(self, path: Path) -> None:
        """Replay a chaos run (raises GKNError for a bad file)."""
        with open_run(path) as run:
            state = ChaosTrainState.from_run(run)
        self.stop_jobs()
        self.train_state = state
        self.run_path = Path(path)
        self.settings_changed = False

    def render(self, view: Any) -> None:
        if view is self.training_view:
            view.render(self.train_state)
        elif view is self.dynamics_view:
            view.render(self.dynamics_state)
        elif view is self.lyapunov_view:
            view.render(self.lyapunov_state)

    @property
    def steps_per_second(self) -> float:
        return self.train_state.steps_per_second

    def stop_thread(self, name: str) -> None:
        """Ask the job to stop at its next step; one that is mid-step is waited for on closing."""
        thread = getattr(self, name)
        if thread is not None and not thread.stop():
            self.stopping.append(thread)
        setattr(self, name, None)

    def stop_jobs(self) -> None:
        for name in ("train_thread", "dynamics_thread", "lyapunov_thread"):
            self.stop_thread(name)
        for thread in self.stopping:
            thread.stop(wait_ms=30_000)  # a long step (a Lyapunov spectrum) ends by itself
        self.stopping.clear()
        for helper in self.helper_threads:
            helper.wait(5000)
        self.helper_threads.clear()
        self.controls.train_buttons.show_running(False)
        self.lyapunov_view.set_busy(False)
