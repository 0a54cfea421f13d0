"""Clearing the writer flags a SIGKILLed SWMR writer leaves (gkn_core.runs.writer_flags), as
`h5clear -s` does, and marking such a run failed."""

from __future__ import annotations

import subprocess
import sys

import h5py
import numpy as np
import pytest

from gkn_core.runs.writer_flags import clear_writer_flags, lookup3

KILLED_WRITER = """
import os, signal, sys
import h5py
f = h5py.File(sys.argv[1], "w", libver="latest")
d = f.create_dataset("x", shape=(0,), maxshape=(None,), dtype="f8", chunks=(16,))
f.swmr_mode = True
d.resize((5,)); d[:] = 3.0; f.flush()
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_lookup3_gives_the_checksum_hdf5_stored_in_a_superblock(tmp_path):
    path = tmp_path / "clean.h5"
    with h5py.File(path, "w", libver="latest") as f:
        f["x"] = np.arange(3)
    raw = path.read_bytes()[:64]
    size = 12 + 4 * raw[9]
    assert raw[8] in (2, 3) and raw[11] == 0
    assert lookup3(raw[:size]) == int.from_bytes(raw[size : size + 4], "little")
    assert lookup3(b"") == 0xDEADBEEF and lookup3(b"a") != lookup3(b"b")
    assert not clear_writer_flags(path)  # nothing to clear


def test_a_killed_swmr_file_opens_for_writing_once_its_flags_are_cleared(tmp_path):
    path = tmp_path / "killed.h5"
    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path)], check=False)
    assert done.returncode == -9
    with pytest.raises(OSError, match="already open for write"):
        h5py.File(path, "r+")
    assert clear_writer_flags(path)
    with h5py.File(path, "r+") as f:  # a plain open now, and what was flushed is all there
        np.testing.assert_array_equal(f["x"][:], [3.0] * 5)
        f["x"][0] = 1.0
    with h5py.File(path, "r") as f:
        assert f["x"][0] == 1.0
    assert not clear_writer_flags(path)
