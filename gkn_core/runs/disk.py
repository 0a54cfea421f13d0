"""The disk under a run file: opening it, the operating system's words for a failed write, and
reserving room ahead of the file's end so that HDF5 never meets a full disk mid-flush."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import re
import resource
import shutil
from pathlib import Path

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


def open_h5(path: Path, mode: str) -> h5py.File:
    try:
        return h5py.File(path, mode)
    except FileExistsError:
        raise RunFileError(f"{path} already exists (choose another name or pass --overwrite)") from None
    except (OSError, ValueError) as exc:
        raise RunFileError(f"cannot open {path} for writing: {os_reason(exc)}") from None


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
