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
from helpers.killing import run_and_kill

from gkn_core.gkn.config import preset_config
from gkn_core.gkn.sessions import training_session
from gkn_core.runs.reader import open_run

CHILD = Path(__file__).parent / "helpers" / "killable_run.py"
KILLS = int(os.environ.get("GKN_KILL_COUNT", "5"))


def check_training_file(path: Path, flushed_step: int) -> None:
    with h5py.File(path, "r") as f:  # plain h5py, no help from the product
        assert f.attrs["status"] == "running"
        steps = f["train/metrics/step"][:]
        assert len(steps) >= flushed_step
        np.testing.assert_array_equal(steps, np.arange(1, len(steps) + 1))
        for name in ("loss", "best_loss", "elapsed"):
            series = f[f"train/metrics/{name}"][:]
            assert len(series) == len(steps) and np.isfinite(series).all()
        if "train/manifolds" in f:  # from the first step's flush on
            frames = f["train/manifolds"]
            manifold_steps = frames["step"][:]
            assert frames["loss"].shape[0] == len(manifold_steps) == frames["displacement"].shape[0]
            assert manifold_steps[-1] <= steps[-1] and np.isfinite(frames["loss"][:]).all()
        for name in f.get("checkpoints", {}):
            group = f[f"checkpoints/{name}"]
            assert group.attrs["step"] <= steps[-1]
            assert all(np.isfinite(group[w][:]).all() for w in group)
    with open_run(path) as run:  # and the product's reader agrees
        assert len(run.train_metrics()["step"]) >= flushed_step
        if run.checkpoint_steps():
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
    with h5py.File(path, "r") as f:
        assert f.attrs["status"] == "running" and f["train"].attrs["status"] == "completed"
        group = f["sampling/0000"]
        steps = group["metrics/step"][:]
        assert len(steps) >= flushed
        np.testing.assert_array_equal(steps, np.arange(1, len(steps) + 1))
        chains = group["chains"][:]
        assert chains.shape[0] == 64 and chains.shape[1] >= len(steps) + 1
        assert np.isfinite(chains[:, : len(steps) + 1]).all()
    with open_run(path) as run:
        record = run.sampling()
        assert record.chains.shape[1] == len(record.metrics["step"]) + 1
        assert record.status == "running"
