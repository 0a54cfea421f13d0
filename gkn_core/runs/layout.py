"""Format version 2's fixed layout (docs/run-format.md, Crash safety): what lets a run file be
written in HDF5's SWMR mode, where no group, dataset or attribute may be added or changed.

- A job's state (status, failure_reason, updated, finished) is a one-element string dataset, not an
  attribute: `create_state` makes them before SWMR starts, `write_state` changes them, `read_state`
  reads either form (version 1 files keep them as attributes).
- Checkpoints are growing stacks: /checkpoints/step, /checkpoints/loss and one
  /checkpoints/weights/<name> (K, *shape) per weight, all made before SWMR starts.
- A file gets new groups only while no one else can see it: a new file is built under a side name
  and renamed into place once SWMR is on; a sampling (or a recording) is added to a copy of the
  closed file, renamed over it (`side_copy`). os.replace is atomic: a kill leaves the old file or
  the new one, never half of either.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import h5py
import numpy as np

from gkn_core.runs.format import CHAIN_CHUNK_BYTES
from gkn_core.runs.h5util import append_rows, create_checked, growing_series, growing_stack

# Bytes of each state string; a longer failure reason is cut (at a character boundary).
STATE_SIZES = {"status": 16, "failure_reason": 1024, "updated": 32, "finished": 32}
CHECKPOINT_SERIES = {"step": np.int64, "loss": np.float64}


def _encoded(name: str, value: str) -> bytes:
    size = STATE_SIZES[name]
    raw = str(value).encode()
    return raw if len(raw) <= size else raw[:size].decode(errors="ignore").encode()


def create_state(group: h5py.Group, **values: str) -> None:
    """The state datasets of a group (root, /train, a sampling), made before SWMR starts."""
    for name, value in values.items():
        dtype = f"S{STATE_SIZES[name]}"
        create_checked(group, name, data=np.array([_encoded(name, value)], dtype=dtype))


def write_state(group: h5py.Group, **values: str) -> None:
    """Change state written as datasets (version 2) or as attributes (version 1 files)."""
    for name, value in values.items():
        item = group.get(name)
        if isinstance(item, h5py.Dataset):
            item[0] = _encoded(name, value)
        else:
            group.attrs[name] = value


def read_state(group: h5py.Group, name: str, default: str = "") -> str:
    """A state string, from its dataset (version 2) or its attribute (version 1)."""
    item = group.get(name)
    if isinstance(item, h5py.Dataset):
        value = item[0] if item.shape else item[()]
    else:
        value = group.attrs.get(name, default)
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


# -- checkpoints ----------------------------------------------------------------------------------
def create_checkpoint_stacks(file: h5py.File, shapes: dict[str, tuple[int, ...]]) -> None:
    group = file.create_group("checkpoints")
    for name, dtype in CHECKPOINT_SERIES.items():
        growing_series(group, name, dtype)
    weights = group.create_group("weights")
    for name, shape in shapes.items():
        growing_stack(weights, name, tuple(shape), np.float32)


def stacked_checkpoints(file: h5py.File) -> bool:
    """True for version 2 checkpoints (stacks), False for a group per checkpoint (version 1)."""
    return isinstance(file.get("checkpoints/step"), h5py.Dataset)


def checkpoint_count(group: h5py.Group) -> int:
    """Checkpoints every stack holds (a killed writer may have grown some by one flush more)."""
    stacks = [group["step"], group["loss"], *group["weights"].values()]
    return min(len(stack) for stack in stacks)


def append_checkpoint(file: h5py.File, step: int, loss: float, weights: dict[str, np.ndarray]) -> None:
    group = file["checkpoints"]
    stacks = group["weights"]
    missing = sorted(set(stacks) ^ set(weights))
    if missing:
        raise KeyError(f"checkpoint weights differ from the run's layout ({missing[0]})")
    for name, value in weights.items():
        append_rows(stacks[name], np.asarray(value, dtype=np.float32)[None])
    append_rows(group["loss"], np.asarray([loss], dtype=np.float64))
    append_rows(group["step"], np.asarray([step], dtype=np.int64))  # last: the count follows it


def create_chain_stack(group: h5py.Group, name: str, starts: np.ndarray, steps: int) -> int:
    """A (chains, 1 + steps, dim) float32 recording of chain states, made with its starts as row 0 and
    growing along time in chunks of about CHAIN_CHUNK_BYTES; returns the steps a chunk holds."""
    chains, dim = starts.shape
    per_chunk = int(np.clip(CHAIN_CHUNK_BYTES // max(1, chains * dim * 4), 1, steps + 1))
    create_checked(
        group,
        name,
        shape=(chains, 1, dim),
        maxshape=(chains, None, dim),
        chunks=(chains, per_chunk, dim) if chains and dim else None,
        dtype=np.float32,
    )
    group[name][:, 0] = starts
    return per_chunk


def create_final_rows(group: h5py.Group, name: str, rows: int, width: int) -> None:
    """An empty (0, width) dataset filled once, up to `rows` rows, when a job ends (samples)."""
    per_chunk = int(np.clip((1 << 18) // max(1, 4 * width), 1, max(1, rows)))
    create_checked(
        group, name, shape=(0, width), maxshape=(rows, width), chunks=(per_chunk, width), dtype=np.float32
    )


def final_rows_written(group: h5py.Group, name: str = "samples") -> bool:
    """True once a job's final rows (create_final_rows) were written; version 1 made them then."""
    return name in group and len(group[name]) > 0


# -- files that change only by rename -------------------------------------------------------------
def side_path(path: Path) -> Path:
    """Where a file is built before it is renamed to `path`: hidden, same folder, not a *.h5."""
    return path.with_name(f".{path.name}.{os.getpid()}.partial")


def side_copy(path: Path) -> Path:
    """A copy of the closed file at `path` to change and then `put_in_place`."""
    side = side_path(path)
    shutil.copyfile(path, side)
    return side


def put_in_place(side: Path, path: Path, overwrite: bool = True) -> None:
    """Rename `side` to `path` in one step; without `overwrite`, never over an existing file."""
    if overwrite:
        os.replace(side, path)
        return
    os.link(side, path)  # FileExistsError when another file took the name meanwhile
    os.unlink(side)
