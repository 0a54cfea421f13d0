"""SIGKILL at a random moment leaves a run file that plain h5py opens, holding everything flushed.

The child prints the step of every flush it completed. After the kill, the file must hold at least
that step, with all series, manifold frames, checkpoints and chains agreeing with each other.
"""

import os
import random
from pathlib import Path

import h5py
import numpy as np
import pytest
from helpers.killed_files import check_checkpoints, series_group, state
from helpers.killing import run_and_kill

from gkn_core.gkn.config import preset_config
from gkn_core.gkn.sessions import training_session
from gkn_core.runs.reader import open_run

CHILD = Path(__file__).parent / "helpers" / "killable_run.py"
KILLS = int(os.environ.get("GKN_KILL_COUNT", "5"))


def check_training_file(path: Path, flushed_step: int) -> None:
    # plain h5py, no help from the product: SWMR read, since the killed writer left HDF5's "open for
    # writing" flag set (docs/run-format.md, Crash safety)
    with h5py.File(path, "r", swmr=True) as f:
        assert state(f, "/") == "running"
        series = series_group(f, "train/metrics")
        steps = series["step"]
        assert len(steps) >= flushed_step
        np.testing.assert_array_equal(steps, np.arange(1, len(steps) + 1))
        assert all(np.isfinite(values).all() for values in series.values())
        frames = series_group(f, "train/manifolds", names=("step", "loss", "displacement"))
        assert len(frames["step"]) >= 1 and frames["step"][-1] <= steps[-1]
        assert np.isfinite(frames["loss"]).all()
        checkpoints = check_checkpoints(f, len(steps))
    with open_run(path) as run:  # and the product's reader agrees
        assert len(run.train_metrics()["step"]) == len(steps) >= flushed_step
        assert run.checkpoint_steps() == checkpoints
        if checkpoints:
            run.load_model()


@pytest.mark.parametrize("attempt", range(KILLS))
def test_training_killed_at_a_random_moment(tmp_path, attempt):
    path = tmp_path / "killed.h5"
    flushed = run_and_kill([str(CHILD), "train", str(path)], random.Random(attempt))
    check_training_file(path, flushed)


@pytest.mark.parametrize("attempt", range(max(1, KILLS // 2)))
def test_sampling_killed_at_a_random_moment(tmp_path, attempt):
    path = tmp_path / "sampled.h5"
    _, snapshots = training_session(preset_config("2d", {"train": {"steps": 200}}), path)
    for _ in snapshots:
        pass
    flushed = run_and_kill([str(CHILD), "sample", str(path)], random.Random(100 + attempt))
    with h5py.File(path, "r", swmr=True) as f:
        assert state(f, "/") == "running" and state(f, "train") == "completed"
        group = f["sampling/0000"]
        steps = series_group(f, "sampling/0000/metrics")["step"]
        assert len(steps) >= flushed
        np.testing.assert_array_equal(steps, np.arange(1, len(steps) + 1))
        chains = group["chains"][:]
        assert chains.shape[0] == 64 and chains.shape[1] >= len(steps) + 1
        assert np.isfinite(chains[:, : len(steps) + 1]).all()
    with open_run(path) as run:
        record = run.sampling()
        assert record.chains.shape[1] == len(record.metrics["step"]) + 1
        assert record.status == "running"
