"""Opening a run file read-only and checking its header (gkn_core.runs.reader's first steps)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from gkn_core.errors import RunFileError
from gkn_core.families import KINDS
from gkn_core.runs.format import FORMAT_NAME, FORMAT_VERSION

MAX_DIM = 256 * 256  # values per data point: the largest images the product trains on


def open_read_only(path: Path) -> h5py.File:
    try:
        # No lock: `gkn runs show` may look at a run another process is still writing.
        return _open_closed_or_swmr(path, locking=False)
    except OSError as exc:
        if "locking" not in str(exc):
            raise
    # This process writes the file now (the app exporting or replaying the run a job records): HDF5
    # shares the open file, which it allows only with the writer's locking setting.
    return _open_closed_or_swmr(path)


def _open_closed_or_swmr(path: Path, **kwargs: Any) -> h5py.File:
    """A plain read (which checks the file's length), or, for a version 2 file a writer has open
    or was killed with (HDF5's "open for writing" flag is set then), a SWMR read."""
    try:
        return h5py.File(path, "r", **kwargs)
    except OSError as exc:
        if "already open for write" not in str(exc):
            raise
    return h5py.File(path, "r", swmr=True, **kwargs)


def check_header(path: Path, file: h5py.File) -> None:
    attrs = file.attrs
    name = attrs.get("format")
    if name != FORMAT_NAME:
        raise RunFileError(f"{path} is an HDF5 file but not a GKN Studio run (no format={FORMAT_NAME!r})")
    version = attrs.get("format_version")
    if not isinstance(version, int | np.integer):
        raise RunFileError(f"{path} has no valid format_version")
    if int(version) > FORMAT_VERSION or int(version) < 1:
        raise RunFileError(
            f"{path} has run format version {int(version)}; this GKN Studio reads version {FORMAT_VERSION}"
            " (a newer GKN Studio wrote it?)"
        )
    if attrs.get("kind") not in KINDS:
        raise RunFileError(f"{path} has unknown run kind {attrs.get('kind')!r} (known: {', '.join(KINDS)})")
    for required in ("config", "data"):
        if required not in file:
            raise RunFileError(f"{path} is missing its /{required} group")
    data = file["data"].attrs
    for key in ("low", "high", "n", "dim"):
        if key not in data:
            raise RunFileError(f"{path} is damaged: /data has no attribute {key!r}")
        value = data[key]
        if not isinstance(value, int | float | np.integer | np.floating) or not math.isfinite(value):
            raise RunFileError(f"{path} is damaged: /data attribute {key!r} is {value!r}, not a number")
    if (
        not 1 <= int(data["dim"]) <= MAX_DIM
        or int(data["n"]) < 1
        or not float(data["low"]) < float(data["high"])
    ):
        raise RunFileError(f"{path} is damaged: /data has impossible sizes or range")
