"""HDF5 helpers for files that must survive a SIGKILL at any moment.

Between two flushes HDF5 may write metadata whenever its cache evicts an entry, which can leave a
half-updated file on disk if the process dies there. We switch evictions off, so the file on disk only
changes at a flush, and keep every growing dataset uncompressed (a rewritten compressed chunk moves
and frees its old space, which HDF5 may reuse before the metadata pointing at it is flushed).

Every dataset of run data is made by `create_checked`: chunked, with HDF5's Fletcher32 checksum on
every chunk, so a damaged chunk fails to read instead of giving wrong numbers. The checksum adds a
fixed 4 bytes to a chunk, so a rewritten chunk keeps its size and its place in the file.
"""

from __future__ import annotations

import json
from typing import Any

import h5py
import numpy as np

from gkn_core.errors import RunFileError
from gkn_core.runs.format import METRICS_CHUNK


def hold_metadata_until_flush(file: h5py.File) -> None:
    config = file.id.get_mdc_config()
    config.evictions_enabled = False
    config.incr_mode = 0  # H5C_incr__off: evictions can only be off with automatic resizing off
    config.flash_incr_mode = 0
    config.decr_mode = 0
    file.id.set_mdc_config(config)


ONE_CHUNK_BYTES = 1 << 20  # fixed-size datasets up to this size are stored as one chunk


def create_checked(group: h5py.Group, name: str, data: Any = None, **kwargs: Any) -> h5py.Dataset:
    """`group.create_dataset` for run data: chunked (one chunk for a small fixed-size array) with a
    Fletcher32 checksum per chunk. Scalars and empty fixed arrays cannot be chunked: stored plain."""
    if data is not None:
        data = np.asarray(data)
    shape = kwargs.get("shape", None if data is None else data.shape)
    if kwargs.get("maxshape") is not None or (shape and 0 not in shape):
        if kwargs.get("chunks") is None:
            dtype = np.dtype(kwargs.get("dtype", None if data is None else data.dtype))
            small = kwargs.get("maxshape") is None and int(np.prod(shape)) * dtype.itemsize <= ONE_CHUNK_BYTES
            kwargs["chunks"] = tuple(shape) if small else True
        kwargs["fletcher32"] = True
    return group.create_dataset(name, data=data, **kwargs)


def growing_series(group: h5py.Group, name: str, dtype: Any) -> h5py.Dataset:
    """A 1-D dataset that grows at the end, one chunk of METRICS_CHUNK rows at a time."""
    if name in group:
        return group[name]
    return create_checked(group, name, shape=(0,), maxshape=(None,), chunks=(METRICS_CHUNK,), dtype=dtype)


def growing_stack(group: h5py.Group, name: str, frame_shape: tuple[int, ...], dtype: Any) -> h5py.Dataset:
    """A stack of frames (n, *frame_shape) that grows along the first axis, one chunk per frame."""
    if name in group:
        return group[name]
    return create_checked(
        group,
        name,
        shape=(0, *frame_shape),
        maxshape=(None, *frame_shape),
        chunks=(1, *frame_shape),
        dtype=dtype,
    )


def append_rows(dataset: h5py.Dataset, rows: np.ndarray) -> None:
    """Append along the first axis."""
    n = dataset.shape[0]
    dataset.resize(n + rows.shape[0], axis=0)
    dataset[n:] = rows


def write_settings(group: h5py.Group, settings: dict[str, Any]) -> None:
    """Nested settings as attributes (sections as subgroups); lists and None as JSON text."""
    for key, value in settings.items():
        if isinstance(value, dict):
            write_settings(group.require_group(key), value)
        elif isinstance(value, bool | int | float | str):
            group.attrs[key] = value
        else:
            group.attrs[key] = json.dumps(value)


def read_failure(exc: BaseException) -> str:
    """One line for a failed read of a dataset; a failed Fletcher32 check says so."""
    text = (str(exc).splitlines() or [type(exc).__name__])[0]
    if "filter returned failure" in text or "checksum" in text.lower():
        return "checksum mismatch: its stored bytes were changed (a damaged chunk)"
    return text[text.find("(") + 1 : text.rfind(")")] if "(" in text and ")" in text else text


def read_checked(path: Any, dataset: h5py.Dataset, selection: Any = ()) -> np.ndarray:
    """`dataset[selection]`, or RunFileError "PATH is damaged: DATASET: why" (one line)."""
    try:
        return dataset[selection]
    except OSError as exc:
        raise RunFileError(f"{path} is damaged: {dataset.name}: {read_failure(exc)}") from None
