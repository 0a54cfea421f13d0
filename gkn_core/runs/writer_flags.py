"""The "open for writing" flags HDF5 leaves in a file whose SWMR writer was killed.

A format-2 run file (docs/run-format.md) is written in SWMR mode; HDF5 marks its superblock while a
writer has it open, and a writer killed with SIGKILL never unmarks it. Readers get around it with a
SWMR read, but nothing can open such a file for writing again until the flags are cleared, which is
what `h5clear -s` (Debian's hdf5-tools) does. Marking a killed run failed needs exactly that, and
this module does it without the tool: the flags are one byte of a version 2/3 superblock, followed by
a Jenkins lookup3 checksum of the superblock (the HDF5 file format specification, "Superblock").
"""

from __future__ import annotations

from pathlib import Path

from gkn_core.errors import RunFileError

SIGNATURE = b"\x89HDF\r\n\x1a\n"
FLAGS_AT = 11  # signature (8), version, size of offsets, size of lengths, then the flags
_M = 0xFFFFFFFF


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _M


# lookup3's mix and final rounds as (x, y, z, k) on the state (a, b, c) = (0, 1, 2): mix does
# x = (x - y) ^ rot(y, k); y += z; final does x = (x ^ y) - rot(y, k).
_MIX = ((0, 2, 1, 4), (1, 0, 2, 6), (2, 1, 0, 8), (0, 2, 1, 16), (1, 0, 2, 19), (2, 1, 0, 4))
_FINAL = ((2, 1, 14), (0, 2, 11), (1, 0, 25), (2, 1, 16), (0, 2, 4), (1, 0, 14), (2, 1, 24))


def _rounds(state: tuple[int, int, int], rounds: tuple[tuple[int, ...], ...]) -> tuple[int, int, int]:
    v = list(state)
    for x, y, *rest in rounds:
        if len(rest) == 2:  # a mix round
            z, k = rest
            v[x] = ((v[x] - v[y]) & _M) ^ _rot(v[y], k)
            v[y] = (v[y] + v[z]) & _M
        else:  # a final round
            v[x] = ((v[x] ^ v[y]) - _rot(v[y], rest[0])) & _M
    return v[0], v[1], v[2]


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 `hashlittle`, HDF5's metadata checksum (H5_checksum_lookup3)."""
    length = len(data)
    a = b = c = (0xDEADBEEF + length + initval) & _M
    i = 0
    while length > 12:  # every block but the last is mixed
        a = (a + int.from_bytes(data[i : i + 4], "little")) & _M
        b = (b + int.from_bytes(data[i + 4 : i + 8], "little")) & _M
        c = (c + int.from_bytes(data[i + 8 : i + 12], "little")) & _M
        a, b, c = _rounds((a, b, c), _MIX)
        length -= 12
        i += 12
    if length == 0:
        return c
    tail = data[i:] + bytes(12 - length)
    a = (a + int.from_bytes(tail[0:4], "little")) & _M
    b = (b + int.from_bytes(tail[4:8], "little")) & _M
    c = (c + int.from_bytes(tail[8:12], "little")) & _M
    a, b, c = _rounds((a, b, c), _FINAL)
    return c


def _superblock(file: object) -> bytearray | None:
    head = file.read(12)  # type: ignore[attr-defined]
    if len(head) < 12 or head[:8] != SIGNATURE or head[8] not in (2, 3):
        return None  # version 0/1 superblocks (format 1 run files) carry no such flags
    return bytearray(head + file.read(4 * head[9]))  # type: ignore[attr-defined]


def writer_flags_set(path: str | Path) -> bool:
    """True when the file is marked open for writing: a live SWMR writer, or a dead one."""
    with open(path, "rb") as file:
        block = _superblock(file)
    return block is not None and block[FLAGS_AT] != 0


def refuse_if_marked_open(path: Path) -> None:
    """RunFileError with one line when a run cannot be reopened for writing (a sampling added)."""
    if writer_flags_set(path):
        raise RunFileError(
            f"{path} is still marked open for writing: if no process is writing it (its writer was "
            f"killed), `gkn runs close {path}` marks it failed; then sample it"
        )


def clear_writer_flags(path: str | Path) -> bool:
    """Clear the superblock's file-consistency flags of a closed file (as `h5clear -s` does); True when
    there were flags to clear. Only for a file no process has open: its writer is dead."""
    with open(path, "r+b") as file:
        block = _superblock(file)
        if block is None or block[FLAGS_AT] == 0:
            return False
        block[FLAGS_AT] = 0
        file.seek(0)
        file.write(bytes(block) + lookup3(bytes(block)).to_bytes(4, "little"))
    return True
