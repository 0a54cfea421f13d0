"""Writing a run file as a job goes, from the job's own thread.

One writer owns the open file. Snapshots are appended to growing datasets; the file is flushed at
natural boundaries (a checkpoint, the end of a job) and whenever `flush_interval` seconds have passed,
so a killed process loses at most that much. See docs/run-format.md for the layout.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

import h5py
import numpy as np
from pydantic import BaseModel

from gkn_core import __version__
from gkn_core.config import SampleConfig
from gkn_core.data import Dataset
from gkn_core.errors import RunFileError
from gkn_core.jobs.gkn_sample import SampleSnapshot
from gkn_core.jobs.gkn_train import Checkpoint, TrainSnapshot
from gkn_core.manifolds import Manifold1D, Manifold2D
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
TRAIN_SERIES = {"step": np.int64, "loss": np.float64, "best_loss": np.float64, "elapsed": np.float64}
SAMPLE_SERIES = {"step": np.int64, "movement": np.float64, "data_distance": np.float64}


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def open_h5(path: Path, mode: str) -> h5py.File:
    try:
        return h5py.File(path, mode)
    except FileExistsError:
        raise RunFileError(f"{path} already exists (choose another name or pass --overwrite)") from None
    except (OSError, ValueError) as exc:
        reason = str(exc).split("(")[0].strip() or type(exc).__name__
        raise RunFileError(f"cannot open {path} for writing: {reason}") from None


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
        hold_metadata_until_flush(file)

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
        writer._write_header(config, dataset, device)
        writer._create_datasets(config, dataset)
        writer.flush()
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

    def write_manifold(self, step: int, manifold: Manifold1D | Manifold2D) -> None:
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
        group = self.file.create_group(name)
        group.attrs.update(step=checkpoint.step, loss=checkpoint.loss, written=utc_now())
        for key, value in checkpoint.weights.items():
            group.create_dataset(key, data=value)
        self.flush()

    # -- sampling --------------------------------------------------------------------------------
    def begin_sampling(
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
        self.flush()
        return name

    def write_sample_snapshot(self, snapshot: SampleSnapshot) -> None:
        metrics = f"{self._sampling.name}/metrics"
        self._pending_states.append((snapshot.step, snapshot.states))
        for name in SAMPLE_SERIES:
            self._queue_row(metrics, name, getattr(snapshot, name))
        self.maybe_flush()

    def end_sampling(self, status: str, reason: str = "") -> None:
        self._write_pending()
        group = self._sampling
        chains = group["chains"]
        group.create_dataset("samples", data=chains[:, -1])  # the last state of every chain
        group.attrs.update(status=status, failure_reason=reason, finished=utc_now())
        self._sampling = None

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

    def maybe_flush(self) -> None:
        if time.monotonic() - self._last_flush >= self.flush_interval:
            self.flush()

    def flush(self) -> None:
        self._write_pending()
        self.file.attrs["updated"] = utc_now()
        self.file.flush()
        self._last_flush = time.monotonic()
        if self.on_flush is not None:
            self.on_flush()

    def close(self) -> None:
        if self.file.id.valid:
            self.flush()
            self.file.close()

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
