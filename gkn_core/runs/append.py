"""Adding a finished record (a trajectory recording, a scores-against-time measurement) to a closed
run file, safely at any kill: the record is written into a copy of the file, which is renamed over
it when complete (gkn_core.runs.layout). A kill leaves the run as it was or with the whole record.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import h5py

from gkn_core.errors import RunFileError
from gkn_core.runs.disk import open_h5
from gkn_core.runs.layout import put_in_place, side_copy, write_state
from gkn_core.runs.writer import utc_now


def add_numbered_group(path: Path, parent: str, fill: Callable[[h5py.Group], None], what: str) -> str:
    """Write a new group `parent/<nnnn>` with `fill`, marked `complete`; returns its name.

    `what` names the record in the one-line error ("cannot write the recording into RUN: ...")."""
    try:
        side = side_copy(path)
    except OSError as exc:
        raise RunFileError(f"cannot write {what} into {path}: {exc}") from None
    try:
        with open_h5(side, "r+", path) as file:
            records = file.require_group(parent)
            number = len(records)  # torn groups (older files) count too: a new name never collides
            while f"{number:04d}" in records:
                number += 1
            name = f"{number:04d}"
            group = records.create_group(name)
            fill(group)
            group.attrs["created"] = group.attrs.get("created", utc_now())
            group.attrs["complete"] = True
            write_state(file, updated=utc_now())
        put_in_place(side, path)
    except OSError as exc:
        side.unlink(missing_ok=True)
        raise RunFileError(f"cannot write {what} into {path}: {exc}") from None
    except BaseException:
        side.unlink(missing_ok=True)
        raise
    return name
