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


def test_a_killed_training_is_closed_by_gkn_runs_close_and_then_sampled(tmp_path):
    """The real CLI: a run killed mid-training refuses a sampling with the way out in one line;
    `gkn runs close` marks it failed and clears the writer flags; then it samples, and closing a run
    that is not left running is refused."""
    from helpers.waiting import event_env, wait_until

    run, log = tmp_path / "killed.h5", tmp_path / "events.log"
    gkn = [sys.executable, "-m", "gkn_core.cli"]
    train = [*gkn, "train", "gkn", "--preset", "1d", "--steps", "1000000", "--out", str(run), "-q"]
    child = subprocess.Popen(train, env=event_env(log, every=10))
    try:
        checkpointed = lambda: log.exists() and "checkpoint" in log.read_text()  # noqa: E731
        wait_until(checkpointed, "a checkpoint", alive=lambda: child.poll() is None)
    finally:
        child.kill()
        child.wait()
    sample = [*gkn, "sample", str(run), "--chains", "4", "--steps", "20", "-q"]
    refused = subprocess.run(sample, capture_output=True, text=True, check=False)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert f"gkn runs close {run}" in refused.stderr
    closed = subprocess.run([*gkn, "runs", "close", str(run)], capture_output=True, text=True, check=False)
    assert closed.returncode == 0, closed.stderr
    with h5py.File(run, "r") as f:  # plain h5py again
        assert len(f["train/metrics/step"]) >= 1
    sampled = subprocess.run(sample, capture_output=True, text=True, check=False)
    assert sampled.returncode == 0 and "completed: sampling 0000" in sampled.stdout, sampled.stderr
    again = subprocess.run([*gkn, "runs", "close", str(run)], capture_output=True, text=True, check=False)
    assert again.returncode == 2 and "not left running" in again.stderr
