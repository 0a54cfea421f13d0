"""The base of every lab (GKN, chaos): the transport of its jobs, launching them, stopping them.

A lab owns its settings panel, its views and its jobs, and talks to the window only through its host
(app/host.py). The shared parts live here once:
- the transport: Play starts a job or pauses/resumes the live one, Step starts one paused (or takes one
  step of the paused one), Reset is the lab's own;
- launching a job into a named slot (`self.train_thread`, ...) with the stale-batch guard: a batch (or
  an end) from a thread that has since been replaced in its slot is dropped, so a restarted job never
  mixes with the one before it;
- every thread it started kept in one `Workers`, stopped and waited for in one way (`stop_jobs`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from PyQt6.QtCore import QObject
from PyQt6.QtWidgets import QWidget

from app.animation import AnimationExport, AnimationOptions
from app.compute import ProcessJobThread
from app.host import ExportSpec, LabHost, ViewSpec
from app.widgets import TransportButtons
from app.worker import LIVE_DELIVERY_S, TRAIN_DELIVERY_S, JobThread, Workers, compute_in_process
from gkn_core.errors import GKNError
from gkn_core.job import Job


class Lab(QObject):
    KIND: ClassVar[str]  # the run kind it shows
    VIEWS: ClassVar[tuple[ViewSpec, ...]]  # the tabs it contributes, in order
    EXPORTS: ClassVar[tuple[ExportSpec, ...]] = ()  # its entries of File > Export
    SLOTS: ClassVar[tuple[str, ...]] = ()  # attributes that hold its live job threads

    controls: QWidget  # its settings page in the window's dock
    footer: QWidget | None = None  # shown under the tabs while one of its views is in front

    def __init__(self, host: LabHost, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.workers = Workers(self)
        self.workers.died.connect(self.host.show_error)  # one line however many jobs it had
        self.views: dict[str, Any] = {spec.name: spec.create() for spec in self.VIEWS}
        self.front: str | None = None  # its view in front, if one is
        self.run_path: Path | None = None
        self.run_label = "no run"  # what the status bar names while one of its views is in front
        self.settings_changed = False
        self.animation: AnimationExport | None = None  # the last animation export
        for slot in self.SLOTS:
            setattr(self, slot, None)

    # -- transport --------------------------------------------------------------------------------
    def connect_transport(
        self,
        buttons: TransportButtons,
        play: Callable[[], None],
        step: Callable[[], None],
        reset: Callable[[], None],
    ) -> None:
        buttons.play.connect(play)
        buttons.step.connect(step)
        buttons.reset.connect(reset)

    remote = staticmethod(compute_in_process)  # the switch: jobs in the compute process

    @staticmethod
    def alive(thread: JobThread | ProcessJobThread | None) -> bool:
        return thread is not None and not thread.finished

    def play(self, slot: str, buttons: TransportButtons, start: Callable[..., bool]) -> None:
        """Pause or resume the live job in `slot`; with none, start one."""
        thread = getattr(self, slot)
        if self.alive(thread):
            job = thread.job
            job.resume() if job.is_paused else job.pause()
            buttons.show_running(not job.is_paused)
        else:
            start(paused=False)

    def step(self, slot: str, buttons: TransportButtons, start: Callable[..., bool]) -> None:
        """One step of the job in `slot` (started paused when there is none), then paused."""
        if self.alive(getattr(self, slot)) or start(paused=True):
            job = getattr(self, slot).job
            job.pause()
            job.advance_one()
            buttons.show_running(False)

    # -- the training transport, the same in every lab --------------------------------------------
    DISCARD_QUESTION = "Discard the current model and clear the views?"
    NEW_RUN_QUESTION = "The settings changed: discard the current model and train a new one?"

    def train_play(self) -> None:
        self.play("train_thread", self.controls.train_buttons, self.start_training)

    def train_step(self) -> None:
        self.step("train_thread", self.controls.train_buttons, self.start_training)

    def train_reset(self) -> None:
        """Stop the lab's jobs and forget its run (asked first when there is one), then `clear_model`."""
        if self.run_path is not None and not self.host.confirm(self.DISCARD_QUESTION):
            return
        self.stop_jobs()
        self.run_path = None
        self.label_run("no run")
        self.clear_model()

    def clear_model(self) -> None:
        """Empty the lab's live state and views after a reset (each lab its own)."""
        raise NotImplementedError

    def _on_settings_changed(self) -> None:
        self.settings_changed = True

    def label_run(self, text: str) -> None:
        """Name the lab's run; the status bar shows it while the lab is in front (the window asks
        again on a tab change), so it always names the run of the view shown."""
        self.run_label = text
        if self.front is not None:
            self.host.set_run_label(text)

    def job_started(self, what: str, path: Path) -> None:
        """A new training or sampling: the last job's "job completed" is gone."""
        self.host.show_status(f"{what}: {path.name}", 3000)

    def may_start_over(self, question: str) -> bool:
        """True when nothing is lost by a new run, or the user agrees to lose it."""
        return self.run_path is None or not self.settings_changed or self.host.confirm(question)

    def settings_for_new_run(self) -> Any | None:
        """The panel's settings for a new run, checked before any question (None after an error dialog),
        then None too unless nothing is lost by a new run or the user agrees to NEW_RUN_QUESTION."""
        try:
            config = self.controls.checked_config()
        except GKNError as exc:
            self.host.show_error(str(exc))
            return None
        return config if self.may_start_over(self.NEW_RUN_QUESTION) else None

    def new_run_path(self, stem: str) -> Path:
        """A fresh file in the runs folder: the stem, then the time."""
        runs = self.host.runs_dir
        runs.mkdir(parents=True, exist_ok=True)
        return runs / f"{stem}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S-%f')}.h5"

    # -- jobs -------------------------------------------------------------------------------------
    def launch(
        self,
        slot: str,
        job: Job,
        snapshots: Iterator,
        deliver: Callable[[list], None],
        deliver_every: float = LIVE_DELIVERY_S,
    ) -> JobThread:
        """Start a job in a thread kept as `self.<slot>`. The stale-batch guard: batches (and the end)
        that a replaced thread had already queued are dropped, so a restarted job never mixes with the
        old one."""
        thread = self.workers.job(job, snapshots)
        thread.worker.deliver_every = deliver_every
        return self._start(slot, thread, deliver)

    def launch_training(
        self,
        start: tuple[Callable[..., Any], tuple],
        job: Job | None,
        snapshots: Iterator | None,
        deliver: Callable[[list], None],
        known: dict[str, Any],
        run_file: Path,
        paused: bool,
    ) -> None:
        """A training into `train_thread`: made and run by the compute process (`job` None: `start`
        makes it there), or the `job` made here run in a thread. Training snapshots come ten times a
        second (TRAIN_DELIVERY_S): each delivery the GUI thread handles is time taken from training."""
        if job is None:
            device_label = lambda info: self.host.set_device_label(info["device"])  # noqa: E731
            self.launch_remote(
                "train_thread", start, deliver, TRAIN_DELIVERY_S, known, run_file, paused, device_label
            )
            return
        self.host.set_device_label(str(job.device))
        if paused:
            job.pause()
        self.launch("train_thread", job, snapshots, deliver, TRAIN_DELIVERY_S)

    def launch_remote(
        self,
        slot: str,
        start: tuple[Callable[..., Any], tuple],
        deliver: Callable[[list], None],
        deliver_every: float = LIVE_DELIVERY_S,
        known: dict[str, Any] | None = None,
        run_file: Path | None = None,
        paused: bool = False,
        started: Callable[[dict], None] | None = None,
    ) -> ProcessJobThread:
        """`launch` for a job the compute process makes with factory(*args) (start = (factory, args)):
        `known` is what the window knows of it already, `started(info)` gets what the child tells
        before its first batch, `run_file` is marked failed if the process dies under the job."""
        thread = self.workers.remote_job(start[0], start[1], known, run_file, deliver_every)
        if paused:
            thread.job.pause()
        if started is not None:
            thread.started_info.connect(
                lambda info, t=thread: started(info) if getattr(self, slot) is t else None
            )
        return self._start(slot, thread, deliver)

    def _start(self, slot: str, thread: Any, deliver: Callable[[list], None]) -> Any:
        thread.delivered.connect(lambda batch, t=thread: deliver(batch) if getattr(self, slot) is t else None)
        thread.ended.connect(lambda status, reason, t=thread: self._on_ended(slot, t, status, reason))
        setattr(self, slot, thread)
        thread.start()
        return thread

    def _on_ended(self, slot: str, thread: Any, status: str, reason: str) -> None:
        self.job_ended(slot, getattr(self, slot) is thread, status, reason)
        if status == "failed" and not getattr(thread, "died", False):  # a death is said once
            self.host.show_error(f"the job failed: {reason}")

    def job_ended(self, slot: str, current: bool, status: str, reason: str) -> None:
        """A job of `slot` ended (current: it is still the slot's job, not one replaced since)."""

    def stop_slot(self, slot: str, clear: bool = True) -> None:
        """Ask the slot's job to stop at its next step and wait for it a moment; one that is mid-step
        (a long one) ends by itself and is waited for by stop_jobs or on closing."""
        thread = getattr(self, slot)
        if thread is not None:
            thread.stop()
        if clear:
            setattr(self, slot, None)

    def call(self, fn: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """A one-off computation off the GUI thread; its failure becomes one line in a dialog."""
        self.workers.call(fn, done, self.host.show_error)

    def request(self, fn: Callable[..., Any], args: tuple, done: Callable[[Any], None]) -> None:
        """fn(*args), a module-level function of the model, in the compute process (or a thread with
        the switch off); its failure becomes one line in a dialog."""
        self.workers.request(fn, args, done, self.host.show_error)

    def stop_jobs(self) -> None:
        """Stop every job and function of the lab and wait for them (the same wait as on closing)."""
        self.workers.stop_all()
        for slot in self.SLOTS:
            setattr(self, slot, None)

    # -- what the window asks of a lab -------------------------------------------------------------
    def set_front(self, view: str) -> None:
        """The window's front view changed (to one of this lab's, or not)."""
        self.front = view if view in self.views else None
        if self.front is not None:
            self.view_shown(view)

    def view_shown(self, view: str) -> None:
        """One of the lab's views came to front."""

    def render(self, view: str, force: bool = False) -> None:
        raise NotImplementedError

    def toggle_play(self) -> None:
        """Space."""
        raise NotImplementedError

    @property
    def steps_per_second(self) -> float:
        return 0.0

    def read_replay(self, run: Any) -> Any:
        """What a replay of the open run shows (raises GKNError for a bad file); the window then calls
        `replay` once the file is closed again."""
        raise NotImplementedError

    def replay(self, path: Path, data: Any) -> str:
        """Show a run read by read_replay; returns the view to bring to front."""
        raise NotImplementedError

    def train_again(self, config: Any) -> bool:
        """A new run with a run's settings: shown in the settings panel, then trained."""
        self.controls.show_config(config)
        self.settings_changed = False
        return self.start_training(paused=False, config=config)

    def compare_run(self, run: Any, path: Path) -> str:
        """Show a run beside the current one; returns the view to bring to front."""
        raise GKNError(f"{path}: runs of kind {self.KIND} have no comparison view")

    def available_exports(self) -> tuple[ExportSpec, ...]:
        """The EXPORTS that fit what the lab shows now (File > Export offers only those)."""
        return self.EXPORTS if self.run_path is not None else ()

    def export(self, what: str, path: Path, options: AnimationOptions | None = None) -> None:
        """Write one of the lab's EXPORTS (raises GKNError or OSError; the window shows it); an
        animation is drawn and written in the background (`animate`)."""
        raise NotImplementedError

    def animate(
        self, count: int, frame: Callable[[int], Any], path: Path, options: AnimationOptions | None,
        restore: Callable[[], None] = lambda: None,
    ) -> AnimationExport:  # fmt: skip
        """An animation of `count` frames (figures, not screen grabs), with a progress dialog, written
        in a worker; "saved to ..." when done."""
        self.animation = AnimationExport(
            self.controls, count, frame, path, options or AnimationOptions(), self.workers,
            done=lambda p: self.host.show_status(f"saved to {p}", 10_000),
            failed=self.host.show_error, restore=restore,
        )  # fmt: skip
        return self.animation
