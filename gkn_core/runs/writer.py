"""Writing a run file as a job goes, from the job's own thread.

One writer owns the open file. Snapshots are appended to growing datasets; the file is flushed at
natural boundaries (a checkpoint, the end of a job) and whenever `flush_interval` seconds have passed,
so a killed process loses at most that much. See docs/run-format.md for the layout.

A format version 2 file is written in HDF5's SWMR mode (a kill at any moment leaves a file that opens
at its last flush): everything a job writes is created before SWMR starts, on a file no one else can
see yet (gkn_core.runs.layout); version 1 files (sampling appended to an old run) are written as
before.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Self

import h5py
import numpy as np
from pydantic import BaseModel

from gkn_core import __version__
from gkn_core.data import Dataset
from gkn_core.errors import RunFileError
from gkn_core.runs.disk import RoomKeeper, open_h5, os_reason
from gkn_core.runs.format import CHAIN_CHUNK_BYTES, FORMAT_NAME, FORMAT_VERSION, INLINE_DATA_LIMIT, STATUSES
from gkn_core.runs.h5util import (
    append_rows,
    create_checked,
    growing_series,
    hold_metadata_until_flush,
    write_settings,
)
from gkn_core.runs.layout import (
    append_checkpoint,
    create_checkpoint_stacks,
    create_state,
    put_in_place,
    side_copy,
    side_path,
    write_state,
)
from gkn_core.runs.reader import open_run
from gkn_core.runs.writer_flags import refuse_if_marked_open

DEFAULT_FLUSH_INTERVAL = 1.0  # seconds; the promise is at most 2


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# Files HDF5 failed to close (a write error in their last flush): kept, so that no garbage collection
# retries the close (and prints HDF5's complaint on stderr).
_UNCLOSABLE: list[h5py.File] = []


class RunWriter(RoomKeeper):
    """The kind-neutral writer: a family's writer (GknRunWriter, ChaosRunWriter) names its `kind`,
    creates its series in `_create_datasets` and adds what it queues to `_pending_bytes`,
    `_write_pending` and `_drop_pending`."""

    kind = ""

    def __init__(
        self, file: h5py.File, flush_interval: float, path: Path | None = None, side: Path | None = None
    ) -> None:
        self.file = file
        self.path = Path(file.filename) if path is None else path
        # The file is built at `side` (a new file, or a copy of the run) until `_go_live` renames it.
        self._side = side
        self.version = int(file.attrs.get("format_version", FORMAT_VERSION))
        self.swmr = self.version >= 2
        self._checkpoint_steps: set[int] = set()
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
        weights: dict[str, tuple[int, ...]] | None = None,
    ) -> Self:
        """A new run file of this writer's kind, with its header, empty series and empty checkpoint
        stacks (one per weight: name -> shape), in place and flushed; a kill before that leaves no run
        file (only a hidden `.NAME.PID.partial` beside it)."""
        path = Path(path)
        if path.is_dir():
            raise RunFileError(f"{path} is a directory, not a run file name")
        if not path.parent.exists():
            raise RunFileError(f"cannot create {path}: folder {path.parent} does not exist")
        if path.exists() and not overwrite:
            raise RunFileError(f"{path} already exists (choose another name or pass --overwrite)")
        side = side_path(path)
        writer = cls(open_h5(side, "w", path, libver="latest"), flush_interval, path, side)
        try:
            writer.reserve(dataset.x.nbytes if dataset.x.size <= INLINE_DATA_LIMIT else 0)
            with writer.writing():
                writer._write_header(config, dataset, device)
                create_state(writer.file.create_group("train"), status="running", failure_reason="")
                writer._create_datasets(config, dataset)
                create_checkpoint_stacks(writer.file, dict(weights or {}))
            writer._go_live(overwrite)
        except RunFileError:
            writer.abandon()
            raise
        return writer

    @classmethod
    def append(cls, path: str | Path, flush_interval: float = DEFAULT_FLUSH_INTERVAL) -> Self:
        """Reopen a finished run to add a sampling to it; refuses files that are not runs. The
        sampling is made on a copy of the file, which replaces it once the sampling's layout is in."""
        path = Path(path)
        with open_run(path) as run:
            version = run.format_version
        refuse_if_marked_open(path)
        try:
            side = side_copy(path)
        except OSError as exc:
            raise RunFileError(f"cannot write {path}: {os_reason(exc)}") from None
        kwargs = {"libver": "latest"} if version >= 2 else {}
        return cls(open_h5(side, "r+", path, **kwargs), flush_interval, path, side)

    def _go_live(self, overwrite: bool = True) -> None:
        """Write everything out, start SWMR (version 2) and put the side file in place of the run:
        from here on the file is only changed by SWMR writes (or, version 1, by flushes)."""
        with self.writing():
            if self.swmr:
                self.file.swmr_mode = True  # flushes the whole file first
            self.file.flush()
            if self._side is not None:
                try:
                    put_in_place(self._side, self.path, overwrite)
                except FileExistsError:
                    raise RunFileError(
                        f"{self.path} already exists (choose another name or pass --overwrite)"
                    ) from None
                self._side = None
        self.flush()

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
        )
        create_state(self.file, status="running", failure_reason="", updated=utc_now())
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

    def _queue_rows(self, group: str, name: str, values: Iterable[float]) -> None:
        self._pending_rows.setdefault((group, name), []).extend(values)

    def _write_pending(self) -> None:
        """Write the queued rows of the secondary series (scores, exponents: all but a job's
        `metrics`); a family's writer writes what else it queued after them."""
        self._write_rows(primary=False)

    def _write_rows(self, primary: bool) -> None:
        for (group, name), rows in self._pending_rows.items():
            if rows and group.endswith("metrics") == primary:
                series = self.file[group][name]
                append_rows(series, np.asarray(rows, dtype=series.dtype))
                rows.clear()

    def _write_all_pending(self) -> None:
        """Everything queued, in two HDF5 flushes: first the secondary records (frames, grids,
        chains, checkpoints' rows, scores), then a job's `metrics` rows, its saved steps. SWMR keeps
        each dataset whole through a kill, not several together: so a file's metrics never run
        ahead of its secondary records, and readers take the metrics' last step as the step saved
        (docs/run-format.md, Crash safety)."""
        self._write_pending()
        self.file.flush()
        self._write_rows(primary=True)
        write_state(self.file, updated=utc_now())

    def _drop_pending(self) -> None:
        """Forget what waits for the next flush (after a failed write)."""
        self._pending_rows.clear()

    def write_weights(self, step: int, weights: dict[str, np.ndarray], loss: float = float("nan")) -> None:
        """A checkpoint appended to the checkpoint stacks with a flush of everything pending, once per
        step; the newest is the model. A refused write adds nothing; a failed one leaves stacks the
        reader cuts to the checkpoints every stack holds (the step is appended last)."""
        if step in self._checkpoint_steps:  # keep-best: the best weights did not change since the last
            return
        self.reserve(self._pending_bytes() + sum(np.asarray(value).nbytes for value in weights.values()))
        with self.writing():
            try:
                append_checkpoint(self.file, step, loss, weights)
            except KeyError as exc:
                raise RunFileError(f"cannot write {self.path}: {exc.args[0]}") from None
        self._checkpoint_steps.add(step)
        self.flush()

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
                json=settings.model_dump_json(), seed=seed, checkpoint_step=checkpoint_step, created=utc_now()
            )
            self._new_state(group, status="running", failure_reason="", finished="")
            write_settings(group.create_group("settings"), settings.model_dump(mode="json"))
            create(group)
            self._sampling = group
            write_state(self.file, status="running", failure_reason="")
        if self._side is not None:
            self._go_live()
        else:
            self.flush()
        return name

    def _new_state(self, group: h5py.Group, **values: str) -> None:
        """State strings of a new group: datasets (version 2, writable under SWMR) or attributes."""
        if self.swmr:
            create_state(group, **values)
        else:
            group.attrs.update(values)

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
                    self._write_all_pending()
                    final = samples()
                    if final is not None:
                        group["samples"].resize(len(final), axis=0)
                        group["samples"][:] = final
        except RunFileError:
            status, reason = "failed", self.write_failure or reason
            raise
        finally:
            self._sampling, self._block = None, None
            with contextlib.suppress(OSError, RuntimeError):
                write_state(group, failure_reason=reason, finished=utc_now(), status=status)

    # -- status and flushing ------------------------------------------------------------------------
    def set_status(self, status: str, reason: str = "", section: str | None = None) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        targets = [self.file]
        if section is not None:
            targets.append(self.file[section])
        for group in targets:
            write_state(group, failure_reason=reason, status=status)  # the reason first: status says done

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
            self._write_all_pending()
            self.file.flush()
        self._last_flush = time.monotonic()
        if self.on_flush is not None:
            self.on_flush()

    def close(self) -> None:
        """Flush and close. After a failed or refused write, only the status attributes are written
        (in the room MIN_FREE_BYTES kept): the file holds what its last good flush saved."""
        if not self.file.id.valid:
            return
        if self._side is not None:  # never put in place: the run file is as it was
            self._discard_side()
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

    def _discard_side(self) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            self.file.close()
        with contextlib.suppress(OSError):
            self._side.unlink()
        self._side = None

    def abandon(self) -> None:
        """Close after a failed write: drop what waits in memory, save the status if HDF5 can."""
        self._drop_pending()
        if self._side is not None:
            self._discard_side()
            return
        try:
            write_state(self.file, updated=utc_now())
            self.file.close()
        except (OSError, RuntimeError):
            _UNCLOSABLE.append(self.file)  # HDF5 could not close it; never let it close (and fail) again

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
