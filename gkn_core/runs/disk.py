"""The disk under a run file: opening it, the operating system's words for a failed write, and
reserving room ahead of the file's end so that HDF5 never meets a full disk mid-flush."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import re
import resource
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py

from gkn_core.errors import RunFileError


def os_reason(exc: BaseException) -> str:
    """The operating system's words for a failed file operation, from an OSError or h5py's text."""
    found = re.search(r"error message = '([^']*)'", str(exc))
    if found:
        return found.group(1)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = re.sub(r"^\[Errno \d+\] ", "", str(exc).split("(")[0].strip())
    return text or type(exc).__name__


def open_h5(path: Path, mode: str, name: Path | None = None, **kwargs: Any) -> h5py.File:
    """h5py.File(path, mode, **kwargs), or RunFileError naming `name` (the run `path` will become)."""
    name = path if name is None else name
    try:
        return h5py.File(path, mode, **kwargs)
    except FileExistsError:
        raise RunFileError(f"{name} already exists (choose another name or pass --overwrite)") from None
    except (OSError, ValueError) as exc:
        raise RunFileError(f"cannot open {name} for writing: {os_reason(exc)}") from None


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


def megabytes(count: float) -> str:
    return f"{count / 1e6:.1f} MB"


# A writer never fills a disk to its last MiB: ending a run cleanly (its status, its last flush) needs
# a little room, and a flush cut short by a full disk would leave a damaged file. On Linux the room is
# taken, not just checked: the writer reserves disk blocks ahead of the file's end (fallocate with
# KEEP_SIZE), so HDF5 only ever writes into blocks it owns, whatever other programs do to the disk.
MIN_FREE_BYTES = 1 << 20
PREALLOCATE_STEP = 4 << 20  # reserve this much more at a time, where the disk has it


class RoomKeeper:
    """The disk room of a run writer (RunWriter): reserving it ahead of HDF5's writes, and turning a
    write that failed into one RunFileError line. Needs `file`, `path`, `write_failure`,
    `_reserved_end` and `_can_preallocate` (set by RunWriter)."""

    file: h5py.File
    path: Path
    write_failure: str | None
    _reserved_end: int
    _can_preallocate: bool

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

    def _release_reserved(self) -> None:
        """Give back the disk blocks reserved past the end of the closed file."""
        if self._reserved_end:
            with contextlib.suppress(OSError):
                os.truncate(self.path, self.path.stat().st_size)
