"""Reader and writer for the IDX format of the MNIST and Fashion-MNIST distributions.

Layout: two zero bytes, a dtype code byte, a byte with the number of dimensions, one big-endian
uint32 per dimension, then the values in big-endian order, row-major.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from gkn_core.errors import DataError

# dtype code -> big-endian numpy dtype, as in the format's definition.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
# Keyed by (kind, itemsize) so that byte order does not matter when writing.
_CODES: dict[tuple[str, int], int] = {(dt.kind, dt.itemsize): c for c, dt in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_file_bytes(path: str | Path, what: str = "file") -> bytes:
    """Read a whole file, turning every way it can be unreadable into a DataError."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{what} not found: {p}")
    if p.is_dir():
        raise DataError(f"{what} is a directory, not a file: {p}")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {what} {p}: {exc.strerror or exc}") from exc


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) into an array of its declared shape."""
    p = Path(path)
    raw = _read_file_bytes(p, "IDX file")
    # Detect gzip by content: downloads are often renamed or decompressed without renaming.
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"IDX file {p} is a corrupt or truncated gzip archive") from exc
    if len(raw) < 4:
        raise DataError(f"IDX file {p} is too short ({len(raw)} bytes) to hold an IDX header")
    if raw[0] != 0 or raw[1] != 0:
        raise DataError(
            f"IDX file {p} has a bad magic number (first bytes {raw[:4].hex(' ')}); it is not an IDX file"
        )
    code, ndim = raw[2], raw[3]
    if code not in IDX_DTYPES:
        raise DataError(f"IDX file {p} has unknown dtype code 0x{code:02X}")
    if ndim == 0:
        raise DataError(f"IDX file {p} declares no dimensions")
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise DataError(
            f"IDX file {p} is truncated inside its header: {ndim} dimensions need "
            f"{header_len} header bytes, found {len(raw)}"
        )
    dims = struct.unpack(f">{ndim}I", raw[4:header_len])
    dtype = IDX_DTYPES[code]
    # Python ints, so a hostile header cannot overflow the size computation.
    expected = math.prod(dims) * dtype.itemsize
    found = len(raw) - header_len
    if found != expected:
        raise DataError(
            f"IDX file {p}: header declares shape {tuple(dims)} of {dtype.newbyteorder('=')} "
            f"({expected} bytes of data), but found {found} bytes"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header_len).reshape(dims)
    return data.astype(dtype.newbyteorder("="))  # a native-order, writable copy


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write `array` as IDX; gzip-compress when the path ends with ".gz"."""
    p = Path(path)
    a = np.asarray(array)
    key = (a.dtype.kind, a.dtype.itemsize)
    if key not in _CODES:
        raise DataError(
            f"cannot write dtype {a.dtype} as IDX (supported: uint8, int8, int16, int32, float32, float64)"
        )
    if not 1 <= a.ndim <= 255:
        raise DataError(f"cannot write a {a.ndim}-dimensional array as IDX")
    if max(a.shape) >= 2**32:
        raise DataError(f"array shape {a.shape} does not fit the IDX header")
    code = _CODES[key]
    header = struct.pack(">BBBB", 0, 0, code, a.ndim) + struct.pack(f">{a.ndim}I", *a.shape)
    payload = np.ascontiguousarray(a, dtype=IDX_DTYPES[code]).tobytes()
    blob = header + payload
    if p.name.endswith(".gz"):
        blob = gzip.compress(blob, mtime=0)  # mtime=0: same array, same bytes
    try:
        p.write_bytes(blob)
    except OSError as exc:
        raise DataError(f"cannot write IDX file {p}: {exc.strerror or exc}") from exc
