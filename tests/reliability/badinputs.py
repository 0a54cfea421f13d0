"""Makers of bad inputs for the corpus (tests/reliability/test_bad_inputs.py).

Each maker is `make(folder, runs) -> Path`: it builds one bad input in `folder`, often from a copy of
one of the good runs (`runs["gkn"]`, `runs["gkn2d"]`, `runs["chaos"]`), and returns its path.
"""

from __future__ import annotations

import gzip
import io
import shutil
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np

Maker = Callable[[Path, dict[str, Path]], Path]


def text_file(content: bytes = b"this is not a run file\n", name: str = "bad.h5") -> Maker:
    def make(folder: Path, runs: dict[str, Path]) -> Path:
        path = folder / name
        path.write_bytes(content)
        return path

    return make


def empty_file(name: str = "empty.h5") -> Maker:
    return text_file(b"", name)


def directory(name: str = "folder.h5") -> Maker:
    def make(folder: Path, runs: dict[str, Path]) -> Path:
        path = folder / name
        path.mkdir()
        return path

    return make


def missing(name: str = "missing.h5") -> Maker:
    return lambda folder, runs: folder / name


def copy_of(kind: str, name: str = "copy.h5") -> Maker:
    def make(folder: Path, runs: dict[str, Path]) -> Path:
        path = folder / name
        shutil.copyfile(runs[kind], path)
        return path

    return make


def truncated(kind: str, keep: float | int) -> Maker:
    """A run cut to `keep` bytes (an int) or to that fraction of its size (a float)."""

    def make(folder: Path, runs: dict[str, Path]) -> Path:
        path = copy_of(kind, "truncated.h5")(folder, runs)
        size = path.stat().st_size
        with open(path, "r+b") as handle:
            handle.truncate(keep if isinstance(keep, int) else int(size * keep))
        return path

    return make


def overwritten(kind: str, offset: int, data: bytes) -> Maker:
    """A run with `data` written over its bytes at `offset` (a negative offset counts from the end)."""

    def make(folder: Path, runs: dict[str, Path]) -> Path:
        path = copy_of(kind, "flipped.h5")(folder, runs)
        with open(path, "r+b") as handle:
            handle.seek(offset, 0 if offset >= 0 else 2)
            handle.write(data)
        return path

    return make


def flipped_object_header(kind: str, dataset: str) -> Maker:
    """A run whose named dataset's object header has every bit of 64 bytes flipped.

    `{newest}` in the name stands for the newest checkpoint group.
    """

    def make(folder: Path, runs: dict[str, Path]) -> Path:
        path = copy_of(kind, "flipped.h5")(folder, runs)
        with h5py.File(path, "r") as f:
            name = dataset.format(newest=newest_checkpoint(f))
            address = h5py.h5o.get_info(f[name].id).addr
        with open(path, "r+b") as handle:
            handle.seek(address)
            block = handle.read(64)
            handle.seek(address)
            handle.write(bytes(b ^ 0xFF for b in block))
        return path

    return make


def edited(kind: str, edit: Callable[[h5py.File], object]) -> Maker:
    """A copy of a good run changed with plain h5py."""

    def make(folder: Path, runs: dict[str, Path]) -> Path:
        path = copy_of(kind, "edited.h5")(folder, runs)
        with h5py.File(path, "r+") as f:
            edit(f)
        return path

    return make


def replace(name: str, value: object) -> Callable[[h5py.File], None]:
    def edit(f: h5py.File) -> None:
        del f[name]
        f[name] = value

    return edit


def set_attr(where: str, key: str, value: object) -> Callable[[h5py.File], None]:
    def edit(f: h5py.File) -> None:
        f[where].attrs[key] = value

    return edit


def del_attr(where: str, key: str) -> Callable[[h5py.File], None]:
    def edit(f: h5py.File) -> None:
        del f[where].attrs[key]

    return edit


def delete(name: str) -> Callable[[h5py.File], None]:
    def edit(f: h5py.File) -> None:
        del f[name]

    return edit


def newest_checkpoint(f: h5py.File) -> str:
    """The group of the weight stacks (run format 2: one row per checkpoint)."""
    return "checkpoints/weights"


def stack(f: h5py.File, row: np.ndarray) -> np.ndarray:
    """`row` repeated once per checkpoint: a weight stack of the file's length."""
    return np.stack([row] * len(f["checkpoints/step"]))


def in_checkpoints(edit: Callable[[h5py.File, str], None]) -> Callable[[h5py.File], None]:
    """Apply `edit(file, group name)` to the group of the weight stacks."""

    def apply(f: h5py.File) -> None:
        edit(f, newest_checkpoint(f))

    return apply


def a_plain_hdf5_file() -> Maker:
    def make(folder: Path, runs: dict[str, Path]) -> Path:
        path = folder / "other.h5"
        with h5py.File(path, "w") as f:
            f["x"] = np.arange(10)
        return path

    return make


# -- data files -------------------------------------------------------------------------------------------
def idx_bytes(code: int, dims: tuple[int, ...], payload: bytes | None = None) -> bytes:
    header = struct.pack(">BBBB", 0, 0, code, len(dims)) + struct.pack(f">{len(dims)}I", *dims)
    if payload is None:
        payload = bytes(int(np.prod(dims)) * {0x08: 1, 0x0C: 4, 0x0D: 4}.get(code, 1))
    return header + payload


def idx_file(content: bytes, name: str = "images-idx3-ubyte") -> Maker:
    return text_file(content, name)


def gz(content: bytes) -> bytes:
    return gzip.compress(content, mtime=0)


def idx_with_labels(n_images: int, n_labels: int) -> Maker:
    def make(folder: Path, runs: dict[str, Path]) -> Path:
        images = folder / "train-images-idx3-ubyte"
        images.write_bytes(idx_bytes(0x08, (n_images, 8, 8)))
        (folder / "train-labels-idx1-ubyte").write_bytes(idx_bytes(0x08, (n_labels,)))
        return images

    return make


def npz_file(name: str = "data.npz", **arrays: np.ndarray) -> Maker:
    def make(folder: Path, runs: dict[str, Path]) -> Path:
        path = folder / name
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)
        return path

    return make


def npz_with_object_array() -> Maker:
    """An .npz whose 'images' member is a pickled object array: loading it must not unpickle."""

    def make(folder: Path, runs: dict[str, Path]) -> Path:
        path = folder / "pickled.npz"
        member = io.BytesIO()
        np.save(member, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("images.npy", member.getvalue())
        return path

    return make


def float_images(fill: float | None = None, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    images = np.random.default_rng(0).uniform(low, high, (5, 8, 8))
    if fill is not None:
        images[2, 3, 4] = fill
    return images
