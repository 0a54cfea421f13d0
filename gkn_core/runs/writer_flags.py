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

SIGNATURE = b"\x89HDF\r\n\x1a\n"
FLAGS_AT = 11  # signature (8), version, size of offsets, size of lengths, then the flags
_M = 0xFFFFFFFF


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _M


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 `hashlittle`, HDF5's metadata checksum (H5_checksum_lookup3)."""
    length = len(data)
    a = b = c = (0xDEADBEEF + length + initval) & _M
    i = 0
    while length > 12:  # every block but the last is mixed
        a = (a + int.from_bytes(data[i : i + 4], "little")) & _M
        b = (b + int.from_bytes(data[i + 4 : i + 8], "little")) & _M
        c = (c + int.from_bytes(data[i + 8 : i + 12], "little")) & _M
        a = (a - c) & _M ^ _rot(c, 4)
        c = (c + b) & _M
        b = (b - a) & _M ^ _rot(a, 6)
        a = (a + c) & _M
        c = (c - b) & _M ^ _rot(b, 8)
        b = (b + a) & _M
        a = (a - c) & _M ^ _rot(c, 16)
        c = (c + b) & _M
        b = (b - a) & _M ^ _rot(a, 19)
        a = (a + c) & _M
        c = (c - b) & _M ^ _rot(b, 4)
        b = (b + a) & _M
        length -= 12
        i += 12
    if length == 0:
        return c
    tail = data[i:] + bytes(12 - length)
    a = (a + int.from_bytes(tail[0:4], "little")) & _M
    b = (b + int.from_bytes(tail[4:8], "little")) & _M
    c = (c + int.from_bytes(tail[8:12], "little")) & _M
    for x, y, k in (("c", "b", 14), ("a", "c", 11), ("b", "a", 25), ("c", "b", 16), ("a", "c", 4),
                    ("b", "a", 14), ("c", "b", 24)):  # fmt: skip
        v = {"a": a, "b": b, "c": c}
        v[x] = ((v[x] ^ v[y]) - _rot(v[y], k)) & _M
        a, b, c = v["a"], v["b"], v["c"]
    return c


def clear_writer_flags(path: str | Path) -> bool:
    """Clear the superblock's file-consistency flags of a closed file (as `h5clear -s` does); True when
    there were flags to clear. Only for a file no process has open: its writer is dead."""
    with open(path, "r+b") as file:
        head = file.read(12)
        if len(head) < 12 or head[:8] != SIGNATURE or head[8] not in (2, 3):
            return False  # version 0/1 superblocks (format 1 run files) carry no such flags
        size = 12 + 4 * head[9]
        block = bytearray(head + file.read(size - 12))
        if block[FLAGS_AT] == 0:
            return False
        block[FLAGS_AT] = 0
        file.seek(0)
        file.write(bytes(block) + lookup3(bytes(block)).to_bytes(4, "little"))
    return True
