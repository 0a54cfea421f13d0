"""HDF5 helpers for files that must survive a SIGKILL at any moment.

Between two flushes HDF5 may write metadata whenever its cache evicts an entry, which can leave a
half-updated file on disk if the process dies there. We switch evictions off, so the file on disk only
changes at a flush, and keep every growing dataset uncompressed (a rewritten compressed chunk moves
and frees its old space, which HDF5 may reuse before the metadata pointing at it is flushed).
"""

from __future__ import annotations

import json
from typing import Any

import h5py
import numpy as np

from gkn_core.runs.format import METRICS_CHUNK


def hold_metadata_until_flush(file: h5py.File) -> None:
    config = file.id.get_mdc_config()
    config.evictions_enabled = False
    config.incr_mode = 0  # H5C_incr__off: evictions can only be off with automatic resizing off
    config.flash_incr_mode = 0
    config.decr_mode = 0
    file.id.set_mdc_config(config)


def growing_series(group: h5py.Group, name: str, dtype: Any) -> h5py.Dataset:
    """A 1-D dataset that grows at the end, one chunk of METRICS_CHUNK rows at a time."""
    if name in group:
        return group[name]
    return group.create_dataset(name, shape=(0,), maxshape=(None,), chunks=(METRICS_CHUNK,), dtype=dtype)


def growing_stack(group: h5py.Group, name: str, frame_shape: tuple[int, ...], dtype: Any) -> h5py.Dataset:
    """A stack of frames (n, *frame_shape) that grows along the first axis, one chunk per frame."""
    if name in group:
        return group[name]
    return group.create_dataset(
        name, shape=(0, *frame_shape), maxshape=(None, *frame_shape), chunks=(1, *frame_shape), dtype=dtype
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
