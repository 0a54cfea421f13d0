"""SIGKILL during chaos training leaves a run file that plain h5py opens, holding everything flushed."""

from __future__ import annotations

import os
import random
from pathlib import Path

import h5py
import numpy as np
import pytest
from helpers.killing import run_and_kill

from gkn_core.chaos.runfile import load_chaos_model
from gkn_core.runs.reader import open_run

CHILD = Path(__file__).parent / "helpers" / "chaos_killable_run.py"
KILLS = int(os.environ.get("GKN_KILL_COUNT", "3"))


@pytest.mark.parametrize("attempt", range(KILLS))
def test_chaos_training_killed_at_a_random_moment(tmp_path, attempt):
    path = tmp_path / "killed.h5"
    flushed_step = run_and_kill([str(CHILD), str(path)], random.Random(attempt), min_step=1)
    with h5py.File(path, "r") as f:  # plain h5py
        assert f.attrs["kind"] == "chaos" and f.attrs["status"] == "running"
        steps = f["train/metrics/step"][:]
        assert len(steps) >= flushed_step
        np.testing.assert_array_equal(steps, np.arange(1, len(steps) + 1))
        for name in ("gap", "free_activity", "elapsed"):
            assert len(f[f"train/metrics/{name}"]) == len(steps)
        for group, names in (("train/scores", ("E2", "Es", "ER", "AAI")), ("train/lyapunov", ("largest",))):
            n = len(f[f"{group}/step"])
            assert all(len(f[f"{group}/{name}"]) == n for name in names)
            assert n == 0 or f[f"{group}/step"][-1] <= steps[-1]
        images = f["train/samples/images"]
        assert images.shape[0] == len(f["train/samples/step"]) >= 1
        assert np.isfinite(images[:]).all()
    with open_run(path) as run:
        assert run.kind == "chaos"
        if run.checkpoint_steps():
            _model, step = load_chaos_model(run)
            assert step <= steps[-1]
