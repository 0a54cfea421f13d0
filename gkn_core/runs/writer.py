"""Writing a run file as a job goes, from the job's own thread.

One writer owns the open file. Snapshots are appended to growing datasets; the file is flushed at
natural boundaries (a checkpoint, the end of a job) and whenever `flush_interval` seconds have passed,
so a killed process loses at most that much. See docs/run-format.md for the layout.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
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
from gkn_core.runs.disk import megabytes, open_h5, os_reason, preallocate, room_for_writing
from gkn_core.runs.format import CHAIN_CHUNK_BYTES, FORMAT_NAME, FORMAT_VERSION, INLINE_DATA_LIMIT, STATUSES
from gkn_core.runs.h5util import (
    append_rows,
    create_checked,
    growing_series,
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


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# Files HDF5 failed to close (a write error in their last flush): kept referenced, so that no garbage
# collection retries the close and prints HDF5's complaint on stderr.
_UNCLOSABLE: list[h5py.File] = []


class RunWriter:
    """The kind-neutral writer: a family's writer (GknRunWriter, ChaosRunWriter) names its `kind`,
    creates its series in `_create_datasets` and adds what it queues to `_pending_bytes`,
    `_write_pending` and `_drop_pending`."""

    kind = ""

    def __init__(self, file: h5py.File, flush_interval: float) -> None:
        self.file = file
        self.path = Path(file.filename)
        self.flush_interval = flush_interval
        self.on_flush: Callable[[], None] | None = None
        self._last_flush = time.monotonic()
        self._sampling: h5py.Group | None = None
        # Rows wait here until the next flush: one HDF5 write per series per flush, not per step.
        self._pending_rows: dict[tuple[str, str], list[float]] = {}
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
        """What the next flush writes; a family adds what it queues besides the rows."""
        return sum(8 * len(values) for values in self._pending_rows.values())

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
    def append(cls, path: str | Path, flush_interval: float = DEFAULT_FLUSH_INTERVAL) -> Self:
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
            create_checked(data, "x", data=dataset.x, compression="gzip")
            if dataset.labels is not None:
                create_checked(data, "labels", data=dataset.labels, compression="gzip")

    def _create_datasets(self, config: BaseModel, dataset: Dataset) -> None:
        """The kind's own growing series, empty, so the file has its full layout from the start."""
        raise NotImplementedError

    # -- rows, weights and flushing ----------------------------------------------------------------
    def _create_series(self, group: str, series: dict[str, type]) -> None:
        """Empty series, so that a file has its full structure from its first flush on."""
        parent = self.file.require_group(group)
        for name, dtype in series.items():
            growing_series(parent, name, dtype)

    def _queue_row(self, group: str, name: str, value: float) -> None:
        self._pending_rows.setdefault((group, name), []).append(value)

    def _write_pending(self) -> None:
        """Write the queued rows; a family's writer writes what else it queued after them."""
        for (group, name), rows in self._pending_rows.items():
            if rows:
                series = self.file[group][name]
                append_rows(series, np.asarray(rows, dtype=series.dtype))
                rows.clear()

    def _drop_pending(self) -> None:
        """Forget what waits for the next flush (after a failed write)."""
        self._pending_rows.clear()

    def write_weights(self, step: int, weights: dict[str, np.ndarray], loss: float = float("nan")) -> None:
        """Weights as plain datasets in /checkpoints/<step>, written once; the newest is the model."""
        name = f"checkpoints/{step:010d}"
        if name in self.file:  # keep-best: the best weights did not change since the last one
            return
        self.write_group_and_flush(name, weights, step=step, loss=loss)

    def write_group_and_flush(self, name: str, arrays: dict[str, np.ndarray], **attrs: object) -> None:
        """A group of arrays (a checkpoint) and a flush of everything pending, or neither: a refused
        or failed write leaves no group newer than the file's saved steps."""
        self.reserve(self._pending_bytes() + sum(np.asarray(value).nbytes for value in arrays.values()))
        try:
            with self.writing():
                group = self.file.create_group(name)
                group.attrs.update(written=utc_now(), **attrs)
                for key, value in arrays.items():
                    create_checked(group, key, data=value)
            self.flush()
        except RunFileError:
            with contextlib.suppress(KeyError, OSError, RuntimeError):
                del self.file[name]
            raise

    # -- sampling --------------------------------------------------------------------------------
    def _open_sampling(
        self,
        settings: BaseModel,
        seed: int,
        checkpoint_step: int,
        nbytes: int,
        create: Callable[[h5py.Group], None],
    ) -> str:
        """A new /sampling/<nnnn> group with its settings, filled by `create(group)`, then flushed."""
        self.reserve(nbytes + CHAIN_CHUNK_BYTES)
        with self.writing():
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
            create(group)
            self._sampling = group
            self.file.attrs["status"] = "running"
        self.flush()
        return name

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
                        create_checked(group, "samples", data=final)
        except RunFileError:
            status, reason = "failed", self.write_failure or reason
            raise
        finally:
            self._sampling, self._block = None, None
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
        self._drop_pending()
        try:
            self.file.attrs["updated"] = utc_now()
            self.file.close()
        except (OSError, RuntimeError):
            _UNCLOSABLE.append(self.file)  # HDF5 could not close it; never let it close (and fail) again

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
