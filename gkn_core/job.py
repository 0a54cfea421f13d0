"""The job contract: a long computation that advances step by step and yields immutable snapshots.

A driver (the CLI, the app's worker thread, the sweep runner) iterates a job. Between two steps the
job honours `pause()`, `resume()` and `stop()`, which are safe to call from any other thread. A
snapshot holds plain Python numbers and read-only numpy copies, never a tensor the job goes on
changing, so a GUI thread can keep it as long as it likes.
"""

from __future__ import annotations

import contextlib
import enum
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

from gkn_core.errors import ConfigError, JobFailed, out_of_memory

if TYPE_CHECKING:  # torch is imported where a job runs, not where its results are read
    import torch

SnapshotT = TypeVar("SnapshotT")


class JobState(enum.Enum):
    READY = "ready"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    COMPLETED = "completed"
    FAILED = "failed"


class StepInterrupted(Exception):
    """Raised inside a long step (`Job.check_stop`) once a stop was asked: the step is given up, not
    counted, and the job ends at the boundary before it (the model as the last whole step left it)."""


@dataclass(frozen=True)
class Checkpoint:
    """Weights of a model at a step, as plain arrays (what run files store in /checkpoints)."""

    step: int  # optimizer steps applied to these weights
    loss: float  # the loss measured on these weights (nan if never measured)
    weights: dict[str, np.ndarray]


MEMORY_HEADROOM = 0.9  # a job may plan to use at most this share of the memory available


def available_memory(device: torch.device | str = "cpu") -> int | None:
    """Bytes free for a new allocation on `device`, or None when this system does not say."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def ensure_memory(nbytes: int, device: torch.device | str, what: str) -> None:
    """Refuse settings whose arrays cannot fit: a clear ConfigError now, not an allocation failure
    (or the system's out-of-memory killer) later."""
    free = available_memory(device)
    if free is not None and nbytes > MEMORY_HEADROOM * free:
        import torch

        raise ConfigError(
            f"{what} needs about {nbytes / 1e9:,.1f} GB of memory but {torch.device(device)} has "
            f"{free / 1e9:,.1f} GB available; choose smaller settings"
        )


def frozen_array(values: torch.Tensor | np.ndarray) -> np.ndarray:
    """A detached, read-only CPU numpy copy: safe to hand to another thread."""
    if not isinstance(values, np.ndarray) and hasattr(values, "detach"):  # a torch.Tensor
        values = values.detach().to("cpu").numpy()
    copy = np.array(values, copy=True)
    copy.flags.writeable = False
    return copy


class ControlFlags:
    """The pause and stop flags that a job's controls set, read from any thread; shared by the job and
    by stand-ins for one that runs elsewhere (the window's handle on a job in its compute process)."""

    _paused: bool = False
    _stop_requested: bool = False
    _waiting: bool = False

    @property
    def is_paused(self) -> bool:
        return self._paused

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    @property
    def is_waiting(self) -> bool:
        """Blocked in its pause: the pause has taken hold, steps_done is where it waits."""
        return self._waiting


class Job(ControlFlags, ABC, Generic[SnapshotT]):
    """Subclasses set `total_steps` and implement `_advance` (one step, returning its snapshot)."""

    total_steps: int

    def __init__(self) -> None:
        self.steps_done = 0
        self._control = threading.Condition()
        self._paused = False
        self._stop_requested = False
        self._single_steps = 0  # steps let through while paused (the app's Step button)
        self._state = JobState.READY
        self._started_at: float | None = None
        self._waiting = False
        # Called in the iterating thread each time it blocks in a pause (the compute process sends
        # what it holds back then, so the window sees the step the job waits at).
        self.on_wait: Callable[[], None] | None = None

    # -- control, from any thread ---------------------------------------------------------------
    def pause(self) -> None:
        with self._control:
            self._paused = True

    def resume(self) -> None:
        with self._control:
            self._paused = False
            self._single_steps = 0
            self._control.notify_all()

    def stop(self) -> None:
        with self._control:
            self._stop_requested = True
            self._control.notify_all()  # wake a paused job so that it can see the stop

    def advance_one(self) -> None:
        """While paused, let the iterating thread do exactly one more step."""
        with self._control:
            self._single_steps += 1
            self._control.notify_all()

    def check_stop(self) -> None:
        """Called by a long step between its phases (inner loops): raises StepInterrupted once a stop
        was asked, so that one step's work before Stop is answered stays bounded."""
        if self._stop_requested:
            raise StepInterrupted

    @property
    def state(self) -> JobState:
        if self._state in (JobState.READY, JobState.RUNNING) and self._paused:
            return JobState.PAUSED
        return self._state

    @property
    def elapsed(self) -> float:
        return 0.0 if self._started_at is None else time.perf_counter() - self._started_at

    # -- driving ---------------------------------------------------------------------------------
    def step(self) -> SnapshotT:
        """Advance exactly one step, ignoring pause (the app's Step button)."""
        return self._run_step(self._advance)  # type: ignore[return-value]  # _advance gives one

    def _run_step(self, advance: Callable[[], SnapshotT | None]) -> SnapshotT | None:
        if self.steps_done >= self.total_steps:
            raise RuntimeError("the job has already done all its steps")
        if self._started_at is None:
            self._started_at = time.perf_counter()
        self._state = JobState.RUNNING
        try:
            snapshot = advance()
        except StepInterrupted:
            self._state = JobState.STOPPED
            raise
        except BaseException as exc:
            self._state = JobState.FAILED
            memory = out_of_memory(exc)
            if memory is not None:
                where = getattr(self, "device", None)
                raise JobFailed(
                    f"{memory}{f' on {where}' if where is not None else ''} at step {self.steps_done + 1}"
                    " (try a smaller batch, fewer chains, a smaller model or another device)"
                ) from None
            raise
        self.steps_done += 1
        if self.steps_done >= self.total_steps:
            self._state = JobState.COMPLETED
        return snapshot

    def __iter__(self) -> Iterator[SnapshotT]:
        """Run to the end or to a stop, yielding one snapshot per step and waiting while paused.
        A job that describes its steps in blocks (`_advance_deferred`) yields them a block at a time,
        always before it waits, stops or ends."""
        while self.steps_done < self.total_steps:
            with self._control:
                while self._paused and not self._single_steps and not self._stop_requested:
                    self._waiting = True
                    if self.on_wait is not None:
                        self.on_wait()
                    self._control.wait()
                self._waiting = False
                if self._stop_requested:
                    self._state = JobState.STOPPED
                    return
                single = self._paused
                if single:
                    self._single_steps -= 1
            try:
                snapshots = [self._run_step(self._advance)] if single else self._run_block()
            except StepInterrupted:  # a stop asked mid-step: end at the boundary before it
                yield from self._settle()
                return
            except BaseException:  # the steps done before a failure are still described
                with contextlib.suppress(Exception):  # (unless that fails too: the job's error counts)
                    snapshots = self._settle()
                    yield from snapshots
                raise
            yield from snapshots  # type: ignore[misc]

    def _run_block(self) -> list[SnapshotT]:
        """Steps until their snapshots are due (at once, unless the job defers them), a pause or a
        stop is asked, or the last step is done; then their snapshots. The flags are read without
        the lock between steps: a pause or stop seen one step late is still seen."""
        with self._deferred_context():
            while True:
                snapshot = self._run_step(self._advance_deferred)
                if snapshot is not None:
                    return [snapshot]
                if (
                    self._deferred_due()
                    or self._stop_requested
                    or self._paused
                    or self.steps_done >= self.total_steps
                ):
                    return self._settle()

    # -- blocks of steps: a job that computes its snapshots several steps at a time overrides these
    def _advance_deferred(self) -> SnapshotT | None:
        """One step whose snapshot may come later, from `_settle` (None); by default it comes now."""
        return self._advance()

    def _deferred_context(self) -> contextlib.AbstractContextManager:
        """Entered around a run of deferred steps (the sampling job's torch.inference_mode)."""
        return contextlib.nullcontext()

    def _deferred_due(self) -> bool:
        """Whether the deferred snapshots should go out now (a full block, or it waited long enough)."""
        return True

    def _settle(self) -> list[SnapshotT]:
        """The snapshots of the deferred steps, in step order."""
        return []

    @abstractmethod
    def _advance(self) -> SnapshotT:
        """Do one step of work and describe it."""


@dataclass(frozen=True)
class SweepTask:
    """One sweep job as a family's executor (gkn_core.families.SweepKind.execute) receives it; the
    executor returns (end metrics, device text)."""

    config: Any  # the job's validated settings
    metrics: tuple[str, ...]  # the end metrics asked for
    measure: dict[str, Any]  # the sweep's measure settings (tolerances, step counts ...)
    run_path: Path | None  # None: the kind writes no run file
    train: bool  # False: the run file is complete already, only measure it
    drive: Callable[..., None]  # drive(job, snapshots): run a job to its end, stopping when asked
