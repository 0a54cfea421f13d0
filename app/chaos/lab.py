"""The chaos lab: it starts chaos jobs in worker threads and hands what they deliver to the training,
dynamics and Lyapunov views. It talks to the window only through its host (app/host.py); it computes no
science itself (the jobs in gkn_core.chaos do, in their own threads).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PyQt6.QtCore import QObject

from app import chaos
from app import export as exports
from app.animation import AnimationOptions
from app.chaos import compute_jobs
from app.chaos.compute_jobs import DataShape, model_copy
from app.chaos.controls import ChaosControlPanel
from app.chaos.dynamics_view import DynamicsState, animation_frames
from app.chaos.lyapunov_view import LyapunovState
from app.chaos.training_state import ChaosTrainState
from app.host import ExportSpec, LabHost
from app.lab import Lab
from gkn_core.chaos.analysis import LyapunovAnalysisJob, LyapunovSettings
from gkn_core.chaos.config import ChaosConfig, ChaosDataConfig
from gkn_core.chaos.models import ChaoticRNN, build_chaos_model
from gkn_core.chaos.recordings import export_recording
from gkn_core.chaos.runfile import load_chaos_model
from gkn_core.chaos.sessions import chaos_training_session
from gkn_core.chaos.train import load_chaos_dataset
from gkn_core.chaos.trajectories import TrajectoryJob, TrajectoryRecording, model_layers, trajectory_settings
from gkn_core.class_score import score_name
from gkn_core.errors import GKNError
from gkn_core.runs.reader import open_run
from gkn_core.settings import validate_section

ANIMATIONS = "Animations (*.gif *.mp4)"


def recorded_layers(model: ChaoticRNN, choice: str) -> tuple[str, ...]:
    """The view's layer choice ("all", "visible", "hidden") as the model's layer names."""
    if choice == "all":
        return ("all",)
    names = [name for name, _, _ in model_layers(model)]
    return ("visible",) if choice == "visible" else tuple(n for n in names if n != "visible")


def describe_network(config: ChaosConfig, what: str) -> str:
    """The network a derived number is of: 'trained, step 200 of RUN: restricted2 Nh=100, g = 1.5, seed 0'."""
    m = config.model
    return f"{what}: {m.arch} Nh={m.Nh}, g = {m.g:g}, seed {config.seed}"


class ChaosLab(Lab):
    KIND = "chaos"
    VIEWS = chaos.VIEWS
    EXPORTS = (
        ExportSpec("chaos: sample grid (PNG)", "chaos-grid", "PNG (*.png)"),
        ExportSpec(
            "chaos: trajectory recording (HDF5, NPZ or CSV)", "recording", "Recordings (*.h5 *.npz *.csv)"
        ),
        ExportSpec("chaos: visible layer over time (GIF or MP4)", "dynamics-images", ANIMATIONS),
        ExportSpec("chaos: trajectory projection over time (GIF or MP4)", "dynamics-projection", ANIMATIONS),
    )
    SLOTS = ("train_thread", "dynamics_thread", "lyapunov_thread")

    def __init__(self, host: LabHost, parent: QObject | None = None) -> None:
        super().__init__(host, parent)
        self.controls = ChaosControlPanel()
        self.training_view = self.views["chaos"]
        self.dynamics_view = self.views["dynamics"]
        self.lyapunov_view = self.views["lyapunov"]
        self.train_state = ChaosTrainState()
        self.dynamics_state = DynamicsState()
        self.lyapunov_state = LyapunovState()
        self.dynamics_settings: dict[str, Any] = {"source": "untrained"}
        self.dynamics_stale = False  # a new run: the next look at the dynamics shows its network
        self.network_text = ""  # what the Dynamics view studies, as the Lyapunov view names it
        self.last_recording: TrajectoryRecording | None = None
        self._data_shapes: dict[str, tuple[int, tuple[int, int] | None]] = {}

        c = self.controls
        self.connect_transport(c.train_buttons, self.train_play, self.train_step, self.train_reset)
        c.model_settings_changed.connect(self._on_settings_changed)
        self.dynamics_view.settings_changed.connect(self._on_dynamics_settings)
        self.dynamics_view.record_requested.connect(self.record)
        self.lyapunov_view.compute_requested.connect(self.start_lyapunov)
        self.lyapunov_view.stop_requested.connect(self.stop_lyapunov)
        c.g.valueChanged.connect(self._on_settings_g)

    # -- training ---------------------------------------------------------------------------------
    def toggle_play(self) -> None:
        self.train_play()

    DISCARD_QUESTION = "Discard the chaos model and clear its views?"

    def clear_model(self) -> None:
        self.train_state = ChaosTrainState()
        self.dynamics_stale = True

    NEW_RUN_QUESTION = "The settings changed: discard the chaos model and train a new one?"

    def start_training(self, paused: bool, config: ChaosConfig | None = None) -> bool:
        """A new run with the panel's settings (or with `config`: train again with a run's settings)."""
        if config is None:
            config = self.settings_for_new_run()
            if config is None:
                return False
        self.stop_slot("train_thread")
        try:
            path = self.chaos_run_path(config)
            if self.remote():  # the compute process makes the job; the window needs the data's shape
                job, snapshots, shape = None, None, DataShape(*self.data_shape(config.data))
            else:
                job, snapshots = chaos_training_session(config, path)
                shape = DataShape(job.dataset.dim, job.dataset.image_shape)
        except (GKNError, OSError) as exc:
            self.host.show_error(str(exc))
            return False
        self.settings_changed = False
        self.run_path = path
        self.train_state = ChaosTrainState(
            image_shape=shape.image_shape,
            total_steps=config.train.steps,
            title=path.name,
            class_score_name=score_name(config.data.source),
        )
        self.label_run(path.name)
        self.job_started("chaos training", path)
        self.dynamics_stale = True  # the Dynamics and Lyapunov views now study this run's network
        start = (compute_jobs.chaos_training, (config, path))
        known = {"config": config, "dataset": shape}
        self.launch_training(start, job, snapshots, self.train_state.add, known, path, paused)
        self.controls.train_buttons.show_running(not paused)
        self.host.remember_run(path)
        return True

    def chaos_run_path(self, config: ChaosConfig, tag: str = "") -> Path:
        name = config.preset or config.data.source
        return self.new_run_path(f"chaos-{name}-{config.model.arch}-g{config.model.g:g}{tag}")

    def job_ended(self, slot: str, current: bool, status: str, reason: str) -> None:
        if current and slot == "train_thread":
            self.controls.train_buttons.show_running(False)
            self.host.refresh_runs()
            self.host.show_status(f"chaos training {status}" + (f": {reason}" if reason else ""), 5000)
            self.dynamics_stale = True
        if current and slot == "lyapunov_thread":
            self.lyapunov_view.set_busy(False)

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
                self.network_text = describe_network(job.config, f"trained, step {checkpoint.step}")
                return model, job.config, f"checkpoint {checkpoint.step}", job.dataset.image_shape
            with open_run(self.run_path) as run:
                model, step = load_chaos_model(run)
                self.network_text = describe_network(
                    run.config, f"trained, step {step} of {self.run_path.name}"
                )
                return model, run.config, f"checkpoint {step}", run.image_shape
        overrides = {} if g is None else {"g": g}
        config = self.controls.checked_config(**overrides)
        n_visible, shape = self.data_shape(config.data)
        model = build_chaos_model(config.model, n_visible, "cpu", seed=config.seed)
        self.network_text = describe_network(config, "untrained (settings)")
        return model, config, "untrained", shape

    # -- dynamics ---------------------------------------------------------------------------------
    def restart_dynamics(self, settings: dict[str, Any] | None = None) -> bool:
        """(Re)start the trajectory job: a g slider move stops the old job and starts a new one."""
        if settings is not None:
            self.dynamics_settings = dict(settings)
        wanted = self.dynamics_settings
        self.stop_slot("dynamics_thread")
        try:
            model, config, source, shape = self.network(wanted.get("source", "untrained"), wanted.get("g"))
            trajectory = trajectory_settings(
                {k: wanted[k] for k in ("chains", "steps") if k in wanted}
                | {"seed": config.seed, "layers": recorded_layers(model, wanted.get("layers", "all"))}
            )
            job = None if self.remote() else TrajectoryJob(model, trajectory, source, model_seed=config.seed)
        except (GKNError, OSError) as exc:
            self.host.show_error(str(exc))
            return False
        self.dynamics_config = config
        self.dynamics_model = model  # the network studied (copied to the compute process)
        self.dynamics_stale = False
        # the view shows the g the network runs at (a trained network's own, greyed out)
        self.dynamics_view.set_settings(g=config.model.g)
        self.dynamics_state.reset()
        self.dynamics_view.set_image_shape(shape)
        if job is None:
            args = (TrajectoryJob, model_copy(model), trajectory, source, config.seed)
            start = (compute_jobs.with_model, args)
            self.launch_remote("dynamics_thread", start, self.dynamics_state.add, known={"model": model})
        else:
            self.launch("dynamics_thread", job, iter(job), self.dynamics_state.add)
        return True

    def ensure_dynamics(self) -> None:
        """The first look at the dynamics, and the first after a new run: the run's trained network
        (once it has a checkpoint), else the untrained network at the settings' g."""
        if self.dynamics_thread is None or self.dynamics_stale:
            trained = self.run_path is not None and (
                not self.alive(self.train_thread) or self.train_state.checkpoint is not None
            )
            self.dynamics_view.set_settings(
                source="trained" if trained else "untrained", g=self.controls.g.value()
            )
            self.restart_dynamics(self.dynamics_view.settings() | {"g": self.controls.g.value()})

    def _on_dynamics_settings(self, settings: dict[str, Any]) -> None:
        """The Dynamics view's controls moved: for the untrained network its g slider sets the
        settings' gain g (they are one value), then the trajectories restart."""
        g = settings.get("g")
        if (
            settings.get("source") == "untrained"
            and g is not None
            and abs(self.controls.g.value() - g) > 1e-9
        ):
            self.controls.g.blockSignals(True)
            self.controls.g.setValue(g)
            self.controls.g.blockSignals(False)
            self.controls.model_settings_changed.emit()
        self.restart_dynamics(settings)

    def _on_settings_g(self, g: float) -> None:
        """The settings' gain g and the Dynamics view's g slider are one value for the untrained
        network: the slider follows the field (and the untrained dynamics restart)."""
        if self.dynamics_settings.get("source", "untrained") != "untrained":
            return
        self.dynamics_view.set_settings(g=g)
        if self.dynamics_thread is not None:
            self.restart_dynamics(self.dynamics_view.settings() | {"g": g})

    def finished_recording(self) -> TrajectoryRecording | None:
        """The trajectory set of the Dynamics view once its job has ended (None before)."""
        thread = self.dynamics_thread
        if thread is None or not thread.finished or thread.job.steps_done == 0:
            return None
        return thread.job.recording()

    def record(self) -> bool:
        """Write the finished trajectory set into the run file (a new one for an untrained network)."""
        recording = self.finished_recording()
        if recording is None:
            self.host.show_error("the trajectories are still being computed: record when they are done")
            return False
        config = self.dynamics_config
        untrained = recording.source == "untrained"
        if not untrained and self.alive(self.train_thread):
            self.stop_slot("train_thread")  # one writer per run file: training ends with its checkpoint
            self.controls.train_buttons.show_running(False)
        target = self.chaos_run_path(config, "-untrained") if untrained else self.run_path
        self.last_recording = recording
        self.request(compute_jobs.chaos_record, (target, config, recording, untrained), self._on_recorded)
        return True

    def _on_recorded(self, result: tuple[Path, str]) -> None:
        path, name = result
        self.host.remember_run(path)
        self.host.show_status(f"recorded trajectories {name} into {path.name}", 8000)

    def export_recording(self, path: Path) -> None:
        """The trajectories shown (once finished), else the last ones recorded."""
        recording = self.finished_recording() or self.last_recording
        if recording is None:
            raise GKNError("no trajectories yet: open the Dynamics view and let them finish")
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in ("h5", "npz", "csv"):
            raise GKNError(f"{path.name}: recordings export to .h5, .npz or .csv")
        export_recording(recording, fmt, path, overwrite=True)

    # -- Lyapunov ---------------------------------------------------------------------------------
    def start_lyapunov(self, raw: dict[str, Any]) -> bool:
        self.stop_slot("lyapunov_thread")
        wanted = self.dynamics_settings
        try:
            settings = validate_section(LyapunovSettings, raw, "lyapunov")
            model, config, _, _ = self.network(wanted.get("source", "untrained"), wanted.get("g"))
            seed = config.seed
            job = None if self.remote() else LyapunovAnalysisJob(model, settings, model.n_visible, seed)
        except (GKNError, OSError) as exc:
            self.host.show_error(str(exc))
            return False
        self.lyapunov_view.set_network(self.network_text)
        self.lyapunov_state.reset()
        self.lyapunov_view.set_busy(True)
        if job is None:
            args = (LyapunovAnalysisJob, model_copy(model), settings, model.n_visible, seed)
            self.launch_remote("lyapunov_thread", (compute_jobs.with_model, args), self.lyapunov_state.add)
        else:
            self.launch("lyapunov_thread", job, iter(job), self.lyapunov_state.add)
        return True

    def stop_lyapunov(self) -> None:
        self.stop_slot("lyapunov_thread")
        self.lyapunov_view.set_busy(False)

    # -- replay, drawing, stopping ----------------------------------------------------------------
    def read_replay(self, run: Any) -> tuple[ChaosTrainState, ChaosConfig]:  # type: ignore[override]
        return ChaosTrainState.from_run(run), run.config

    def replay(self, path: Path, data: tuple[ChaosTrainState, ChaosConfig]) -> str:
        self.stop_jobs()
        self.train_state, config = data
        self.controls.show_config(config)  # the panel describes the run replayed
        self.run_path = Path(path)
        self.settings_changed = False
        self.dynamics_stale = True
        self.label_run(f"replay: {Path(path).name}")
        return "chaos"

    def view_shown(self, view: str) -> None:
        if view in ("dynamics", "lyapunov"):
            self.ensure_dynamics()

    def render(self, view: str | None, force: bool = False) -> None:
        """The chaos views keep their own versions: each draws only what is new."""
        if view == "chaos":
            self.training_view.render(self.train_state)
        elif view == "dynamics":
            self.dynamics_view.render(self.dynamics_state)
        elif view == "lyapunov":
            self.lyapunov_view.render(self.lyapunov_state)

    @property
    def steps_per_second(self) -> float:
        return self.train_state.steps_per_second

    def available_exports(self) -> tuple[ExportSpec, ...]:
        thread = self.dynamics_thread
        fits = {
            "chaos-grid": self.training_view.grid_mosaic() is not None,
            "recording": (thread is not None and thread.finished) or self.last_recording is not None,
            "dynamics-images": self.dynamics_state.n_frames > 0,
            "dynamics-projection": self.dynamics_state.n_frames > 0,
        }
        return tuple(spec for spec in self.EXPORTS if fits[spec.what])

    def export(self, what: str, path: Path, options: AnimationOptions | None = None) -> None:
        if what == "chaos-grid":
            grid = self.training_view.grid_mosaic()
            if grid is None:
                raise GKNError("no chaos samples yet: train a chaos model first")
            exports.export_image(grid, -1.0, 1.0, path)
        elif what == "recording":
            self.export_recording(path)
        else:
            view, state = self.dynamics_view, self.dynamics_state
            count, frame, restore = animation_frames(view, state, what.removeprefix("dynamics-"), options)
            self.animate(count, frame, path, options, restore)

    def stop_jobs(self) -> None:
        super().stop_jobs()
        self.controls.train_buttons.show_running(False)
        self.lyapunov_view.set_busy(False)
