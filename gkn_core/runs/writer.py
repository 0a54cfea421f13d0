"""Writing a run file as a job goes, from the job's own thread.

One writer owns the open file. Snapshots are appended to growing datasets; the file is flushed at
natural boundaries (a checkpoint, the end of a job) and whenever `flush_interval` seconds have passed,
so a killed process loses at most that much. See docs/run-format.md for the layout.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import datetime as dt
import errno
import os
import re
import resource
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Self

import h5py
import numpy as np
from pydantic import BaseModel

from gkn_core import __version__
from gkn_core.data import Dataset
from gkn_core.errors import RunFileError
from gkn_core.gkn.config import SampleConfig
from gkn_core.gkn.manifolds import Manifold1D, Manifold2D
from gkn_core.gkn.sample import SampleSnapshot
from gkn_core.gkn.train import Checkpoint, TrainSnapshot
from gkn_core.runs.format import (
    CHAIN_CHUNK_BYTES,
    FORMAT_NAME,
    FORMAT_VERSION,
    INLINE_DATA_LIMIT,
    STATUSES,
)
from gkn_core.runs.h5util import (
    append_rows,
    growing_series,
    growing_stack,
    hold_metadata_until_flush,
    write_settings,
)
from gkn_core.runs.reader import check_run_file

DEFAULT_FLUSH_INTERVAL = 1.0  # seconds; the promise is at most 2
# A writer never fills a disk to its last MiB: ending a run cleanly (its status, its last flush) needs
# a little room, and a flush cut short by a full disk would leave a damaged file. On Linux the room is
# taken, not just checked: the writer reserves disk blocks ahead of the file's end (fallocate with
# KEEP_SIZE), so HDF5 only ever writes into blocks it owns, whatever other programs do to the disk.
MIN_FREE_BYTES = 1 << 20
PREALLOCATE_STEP = 4 << 20  # reserve this much more at a time, where the disk has it
TRAIN_SERIES = {"step": np.int64, "loss": np.float64, "best_loss": np.float64, "elapsed": np.float64}
SAMPLE_SERIES = {"step": np.int64, "movement": np.float64, "data_distance": np.float64}


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def os_reason(exc: BaseException) -> str:
    """The operating system's words for a failed file operation, from an OSError or h5py's text."""
    found = re.search(r"error message = '([^']*)'", str(exc))
    if found:
        return found.group(1)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = re.sub(r"^\[Errno \d+\] ", "", str(exc).split("(")[0].strip())
    return text or type(exc).__name__


def open_h5(path: Path, mode: str) -> h5py.File:
    try:
        return h5py.File(path, mode)
    except FileExistsError:
        raise RunFileError(f"{path} already exists (choose another name or pass --overwrite)") from None
    except (OSError, ValueError) as exc:
        raise RunFileError(f"cannot open {path} for writing: {os_reason(exc)}") from None


def _libc_fallocate():
    try:
        fallocate = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True).fallocate
    except (OSError, AttributeError, TypeError):
        return None
    fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    return fallocate


_FALLOCATE = _libc_fallocate()
_KEEP_SIZE = 1  # FALLOC_FL_KEEP_SIZE: allocate the blocks, leave the file's size alone


def preallocate(fd: int, start: int, length: int) -> bool | None:
    """Reserve the disk blocks of [start, start + length) of a file without changing its size.

    True when reserved, False when the disk (or a quota) has no room, None where it cannot be done.
    """
    if _FALLOCATE is None:
        return None
    if _FALLOCATE(fd, _KEEP_SIZE, start, length) == 0:
        return True
    code = ctypes.get_errno()
    return False if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) else None


def room_for_writing(path: Path, file_size: int, reserved: int = 0) -> int:
    """Bytes that may still be added to the file at `path`: the free space of its file system (plus
    what the writer reserved there already), or less where a file-size limit (`ulimit -f`) is set."""
    free = shutil.disk_usage(path.parent).free + max(0, reserved - file_size)
    limit, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    if limit != resource.RLIM_INFINITY:
        free = min(free, limit - file_size)
    return free


def manifold_bytes(manifold: Manifold1D | Manifold2D) -> int:
    return sum(value.nbytes for value in vars(manifold).values() if isinstance(value, np.ndarray))


def megabytes(count: float) -> str:
    return f"{count / 1e6:.1f} MB"


# Files HDF5 failed to close (a write error in their last flush): kept referenced, so that no garbage
# collection retries the close and prints HDF5's complaint on stderr.
_UNCLOSABLE: list[h5py.File] = []


class RunWriter:
    kind = "gkn"

    def __init__(self, file: h5py.File, flush_interval: float) -> None:
        self.file = file
        self.path = Path(file.filename)
        self.flush_interval = flush_interval
        self.on_flush: Callable[[], None] | None = None
        self._last_flush = time.monotonic()
        self._sampling: h5py.Group | None = None
        # Rows wait here until the next flush: one HDF5 write per series per flush, not per step.
        self._pending_rows: dict[tuple[str, str], list[float]] = {}
        self._pending_states: list[tuple[int, np.ndarray]] = []
        self._pending_manifolds: list[tuple[int, Manifold1D | Manifold2D]] = []
        # Set when a write was refused or failed: from then on only the status is written, once.
        self.write_failure: str | None = None
        self._reserved_end = 0  # the file's disk blocks are reserved up to here (0: none, or cannot)
        self._can_preallocate = True
        hold_metadata_until_flush(file)

    # -- room on the disk, and writes that fail ------------------------------------------------------
    def reserve(self, nbytes: int) -> None:
        """Make sure `nbytes` more can be written with MIN_FREE_BYTES to spare, or raise RunFileError.

        Where the system allows it the room is reserved on the disk (see PREALLOCATE_STEP), so that no
        later write of HDF5 can fail for want of space; elsewhere the free space is checked.
        """
        if self.write_failure is not None:
            raise RunFileError(self.write_failure)
        size = self.file.id.get_filesize()
        end = size + nbytes + MIN_FREE_BYTES
        if room_for_writing(self.path, size, self._reserved_end) < nbytes + MIN_FREE_BYTES:
            self._refuse()
        if self._can_preallocate and end > self._reserved_end:
            fd = self.file.id.get_vfd_handle()
            start = max(self._reserved_end, size)
            for target in (end + PREALLOCATE_STEP, end):
                done = preallocate(fd, start, target - start)
                if done:
                    self._reserved_end = target
                    return
                if done is None:  # not on this system or file system: the free-space check must do
                    self._can_preallocate = False
                    return
            self._refuse()

    def _refuse(self) -> None:
        limit, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
        size = self.file.id.get_filesize()
        if limit != resource.RLIM_INFINITY and limit - size < MIN_FREE_BYTES + PREALLOCATE_STEP:
            why = f"the file size limit (ulimit -f, {megabytes(limit)}) is reached"
        else:
            why = f"the disk is full ({megabytes(max(0, shutil.disk_usage(self.path.parent).free))} free)"
        self.write_failure = (
            f"cannot write {self.path}: {why}; the run keeps everything saved up to its last flush"
        )
        raise RunFileError(self.write_failure)

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Turn a failed HDF5 write into RunFileError, one line; later writes are refused."""
        try:
            yield
        except RunFileError:
            raise
        except (OSError, RuntimeError) as exc:
            self.write_failure = f"cannot write {self.path}: {os_reason(exc)}"
            raise RunFileError(self.write_failure) from None

    def _pending_bytes(self) -> int:
        rows = sum(8 * len(values) for values in self._pending_rows.values())
        frames = sum(manifold_bytes(manifold) for _, manifold in self._pending_manifolds)
        return rows + frames + sum(states.nbytes for _, states in self._pending_states)

    # -- opening ---------------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | Path,
        config: BaseModel,
        dataset: Dataset,
        device: str,
        overwrite: bool = False,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
    ) -> Self:
        """A new run file of this writer's kind, with its header and empty series, flushed."""
        path = Path(path)
        if path.is_dir():
            raise RunFileError(f"{path} is a directory, not a run file name")
        if not path.parent.exists():
            raise RunFileError(f"cannot create {path}: folder {path.parent} does not exist")
        writer = cls(open_h5(path, "w" if overwrite else "w-"), flush_interval)
        try:
            writer.reserve(dataset.x.nbytes if dataset.x.size <= INLINE_DATA_LIMIT else 0)
            with writer.writing():
                writer._write_header(config, dataset, device)
                writer._create_datasets(config, dataset)
            writer.flush()
        except RunFileError:
            writer.abandon()
            raise
        return writer

    @classmethod
    def append(cls, path: str | Path, flush_interval: float = DEFAULT_FLUSH_INTERVAL) -> RunWriter:
        """Reopen a finished run to add to it (sampling); refuses files that are not runs."""
        check_run_file(path)
        return cls(open_h5(Path(path), "r+"), flush_interval)

    def _write_header(self, config: BaseModel, dataset: Dataset, device: str) -> None:
        """What every run file holds, whatever its kind: root attributes, config and data."""
        attrs = self.file.attrs
        attrs.update(
            format=FORMAT_NAME,
            format_version=FORMAT_VERSION,
            kind=self.kind,
            created=utc_now(),
            software_version=__version__,
            seed=config.seed,
            device=device,
            status="running",
            failure_reason="",
        )
        config_group = self.file.create_group("config")
        config_group.attrs["json"] = config.model_dump_json()
        write_settings(config_group, config.model_dump(mode="json"))
        data = self.file.create_group("data")
        data.attrs.update(name=dataset.name, low=dataset.low, high=dataset.high, n=dataset.n, dim=dataset.dim)
        if dataset.image_shape is not None:
            data.attrs["image_shape"] = np.asarray(dataset.image_shape, dtype=np.int64)
        if dataset.x.size <= INLINE_DATA_LIMIT:
            data.create_dataset("x", data=dataset.x, compression="gzip")
            if dataset.labels is not None:
                data.create_dataset("labels", data=dataset.labels, compression="gzip")

    def _create_datasets(self, config: BaseModel, dataset: Dataset) -> None:
        """The kind's own growing series, empty, so the file has its full layout from the start."""
        self._create_series("train/metrics", TRAIN_SERIES)

    # -- training --------------------------------------------------------------------------------
    def write_train_snapshot(self, snapshot: TrainSnapshot) -> None:
        for name in TRAIN_SERIES:
            self._queue_row("train/metrics", name, getattr(snapshot, name))
        if snapshot.manifold is not None:
            self.write_manifold(snapshot.step, snapshot.manifold)
        if snapshot.checkpoint is not None:
            self.write_checkpoint(snapshot.checkpoint)  # flushes
        else:
            self.maybe_flush()

    def _create_series(self, group: str, series: dict[str, type]) -> None:
        """Empty series, so that a file has its full structure from its first flush on."""
        parent = self.file.require_group(group)
        for name, dtype in series.items():
            growing_series(parent, name, dtype)

    def _queue_row(self, group: str, name: str, value: float) -> None:
        self._pending_rows.setdefault((group, name), []).append(value)

    def _write_pending(self) -> None:
        for (group, name), rows in self._pending_rows.items():
            if rows:
                series = self.file[group][name]
                append_rows(series, np.asarray(rows, dtype=series.dtype))
                rows.clear()
        if self._pending_states:
            first = self._pending_states[0][0]
            block = np.stack([states for _, states in self._pending_states], axis=1)
            chains = self._sampling["chains"]
            chains.resize(first + block.shape[1], axis=1)
            chains[:, first:] = block
            self._pending_states.clear()
        for step, manifold in self._pending_manifolds:
            self._write_manifold(step, manifold)
        self._pending_manifolds.clear()

    def write_manifold(self, step: int, manifold: Manifold1D | Manifold2D) -> None:
        """Queued like the metric rows, so that a file always holds the frames of its saved steps."""
        self._pending_manifolds.append((step, manifold))

    def _write_manifold(self, step: int, manifold: Manifold1D | Manifold2D) -> None:
        group = self.file.require_group("train/manifolds")
        if isinstance(manifold, Manifold1D):
            group.attrs["kind"] = "1d"
            if "x" not in group:
                group.create_dataset("x", data=manifold.x)
            frames = {"fx": manifold.fx, "loss": manifold.loss}
        else:
            group.attrs["kind"] = "2d"
            if "xs" not in group:
                group.create_dataset("xs", data=manifold.xs)
                group.create_dataset("ys", data=manifold.ys)
            frames = {"loss": manifold.loss, "displacement": manifold.displacement}
        for name, frame in frames.items():
            append_rows(growing_stack(group, name, frame.shape, np.float32), frame[None])
        append_rows(growing_series(group, "step", np.int64), np.asarray([step], dtype=np.int64))

    def write_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Weights as plain datasets in /checkpoints/<step>, written once; the newest is the model."""
        name = f"checkpoints/{checkpoint.step:010d}"
        if name in self.file:  # keep-best: the best weights did not change since the last one
            return
        self.write_group_and_flush(name, checkpoint.weights, step=checkpoint.step, loss=checkpoint.loss)

    def write_group_and_flush(self, name: str, arrays: dict[str, np.ndarray], **attrs: object) -> None:
        """A group of arrays (a checkpoint) and a flush of everything pending, or neither: a refused
        or failed write leaves no group newer than the file's saved steps."""
        self.reserve(self._pending_bytes() + sum(np.asarray(value).nbytes for value in arrays.values()))
        try:
            with self.writing():
                group = self.file.create_group(name)
                group.attrs.update(written=utc_now(), **attrs)
                for key, value in arrays.items():
                    group.create_dataset(key, data=value)
            self.flush()
        except RunFileError:
            with contextlib.suppress(KeyError, OSError, RuntimeError):
                del self.file[name]
            raise

    # -- sampling --------------------------------------------------------------------------------
    def begin_sampling(
        self, settings: SampleConfig, seed: int, checkpoint_step: int, starts: np.ndarray
    ) -> str:
        self.reserve(starts.nbytes + CHAIN_CHUNK_BYTES)
        with self.writing():
            name = self._begin_sampling(settings, seed, checkpoint_step, starts)
        self.flush()
        return name

    def _begin_sampling(
        self, settings: SampleConfig, seed: int, checkpoint_step: int, starts: np.ndarray
    ) -> str:
        samplings = self.file.require_group("sampling")
        name = f"{len(samplings):04d}"
        group = samplings.create_group(name)
        group.attrs.update(
            json=settings.model_dump_json(),
            seed=seed,
            checkpoint_step=checkpoint_step,
            created=utc_now(),
            status="running",
            failure_reason="",
        )
        write_settings(group.create_group("settings"), settings.model_dump(mode="json"))
        n_chains, dim = starts.shape
        steps_per_chunk = int(np.clip(CHAIN_CHUNK_BYTES // max(1, n_chains * dim * 4), 1, settings.steps + 1))
        group.create_dataset(
            "chains",
            shape=(n_chains, 1, dim),
            maxshape=(n_chains, None, dim),
            chunks=(n_chains, steps_per_chunk, dim),
            dtype=np.float32,
        )
        group["chains"][:, 0] = starts
        self._create_series(f"{group.name}/metrics", SAMPLE_SERIES)
        self._sampling = group
        self.file.attrs["status"] = "running"
        return name

    def write_sample_snapshot(self, snapshot: SampleSnapshot) -> None:
        metrics = f"{self._sampling.name}/metrics"
        self._pending_states.append((snapshot.step, snapshot.states))
        for name in SAMPLE_SERIES:
            self._queue_row(metrics, name, getattr(snapshot, name))
        self.maybe_flush()

    def end_sampling(self, status: str, reason: str = "") -> None:
        """Write the last chain states and the samples (the last state of every chain), then the
        sampling's status. A write that fails here marks the sampling failed and raises RunFileError."""
        if self._sampling is None:
            return
        chains = self._sampling["chains"]
        self._end_sampling_group(status, reason, lambda: chains[:, -1], chains.shape[0] * chains.shape[2] * 4)

    def _end_sampling_group(
        self, status: str, reason: str, samples: Callable[[], np.ndarray | None], nbytes: int
    ) -> None:
        """Flush what is pending, store `samples()` (read after that flush) as the group's samples, and
        close the sampling group with its status, whatever happens; one for every run kind."""
        group = self._sampling
        if group is None:
            return
        try:
            if self.write_failure is None:
                self.reserve(self._pending_bytes() + nbytes)
                with self.writing():
                    self._write_pending()
                    final = samples()
                    if final is not None:
                        group.create_dataset("samples", data=final)
        except RunFileError:
            status, reason = "failed", self.write_failure or reason
            raise
        finally:
            self._sampling = None
            with contextlib.suppress(OSError, RuntimeError):
                group.attrs.update(status=status, failure_reason=reason, finished=utc_now())

    # -- status and flushing ------------------------------------------------------------------------
    def set_status(self, status: str, reason: str = "", section: str | None = None) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        targets = [self.file.attrs]
        if section is not None:
            targets.append(self.file.require_group(section).attrs)
        for attrs in targets:
            attrs["status"] = status
            attrs["failure_reason"] = reason

    def end(self, status: str, reason: str = "", section: str | None = None) -> None:
        """Save what is pending, record how the job ended and close the file.

        A run whose writes failed is `failed`, with the write failure as its reason, whatever the job
        itself would have ended with; a write that fails here raises RunFileError once the file is
        closed, unless the job is failing already (its own error is the one to report).
        """
        failure = None
        if self.write_failure is None and self.file.id.valid:
            try:
                self.flush()  # the last rows, before the status says the job ended
            except RunFileError as exc:
                failure = exc
        job_failed = status == "failed"
        if self.write_failure is not None and not job_failed:
            status, reason = "failed", self.write_failure
        try:
            with contextlib.suppress(OSError, RuntimeError):
                self.set_status(status, reason, section)
        finally:
            self.close()
        if failure is not None and not job_failed:
            raise failure

    def maybe_flush(self) -> None:
        if time.monotonic() - self._last_flush >= self.flush_interval:
            self.flush()

    def flush(self) -> None:
        self.reserve(self._pending_bytes())
        with self.writing():
            self._write_pending()
            self.file.attrs["updated"] = utc_now()
            self.file.flush()
        self._last_flush = time.monotonic()
        if self.on_flush is not None:
            self.on_flush()

    def close(self) -> None:
        """Flush and close. After a failed or refused write, only the status attributes are written
        (in the room MIN_FREE_BYTES kept): the file holds what its last good flush saved."""
        if not self.file.id.valid:
            return
        if self.write_failure is None:
            try:
                self.flush()
            except RunFileError:
                pass  # write_failure is set now: fall through to the careful close
            else:
                self.file.close()
                self._release_reserved()
                return
        self.abandon()
        self._release_reserved()

    def _release_reserved(self) -> None:
        """Give back the disk blocks reserved past the end of the closed file."""
        if self._reserved_end:
            with contextlib.suppress(OSError):
                os.truncate(self.path, self.path.stat().st_size)

    def abandon(self) -> None:
        """Close after a failed write: drop what waits in memory, save the status if HDF5 can."""
        self._pending_rows.clear()
        self._pending_states.clear()
        self._pending_manifolds.clear()
        try:
            self.file.attrs["updated"] = utc_now()
            self.file.close()
        except (OSError, RuntimeError):
            _UNCLOSABLE.append(self.file)  # HDF5 could not close it; never let it close (and fail) again

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
