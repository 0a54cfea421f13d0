"""SIGKILL during chaos training leaves a run file that plain h5py opens, holding everything flushed."""

from __future__ import annotations

import os
import random
from pathlib import Path

import h5py
import numpy as np
import pytest
from helpers.killed_files import check_checkpoints, series_group, state
from helpers.killing import run_and_kill

from gkn_core.chaos.runfile import load_chaos_model
from gkn_core.runs.reader import open_run

CHILD = Path(__file__).parent / "helpers" / "chaos_killable_run.py"
KILLS = int(os.environ.get("GKN_KILL_COUNT", "3"))


@pytest.mark.parametrize("attempt", range(KILLS))
def test_chaos_training_killed_at_a_random_moment(tmp_path, attempt):
    path = tmp_path / "killed.h5"
    flushed_step = run_and_kill([str(CHILD), str(path)], random.Random(attempt), min_step=1)
    with h5py.File(path, "r", swmr=True) as f:  # plain h5py (SWMR read: the writer was killed)
        assert f.attrs["kind"] == "chaos" and state(f, "/") == "running"
        steps = series_group(f, "train/metrics")["step"]
        assert len(steps) >= flushed_step
        np.testing.assert_array_equal(steps, np.arange(1, len(steps) + 1))
        for group in ("train/scores", "train/lyapunov"):
            recorded = series_group(f, group)["step"]
            assert len(recorded) == 0 or recorded[-1] <= steps[-1]
        images = series_group(f, "train/samples")["images"]
        assert len(images) >= 1 and np.isfinite(images).all()
        checkpoints = check_checkpoints(f, len(steps))
    with open_run(path) as run:
        assert run.kind == "chaos" and run.checkpoint_steps() == checkpoints
        if run.checkpoint_steps():
            _model, step = load_chaos_model(run)
            assert step <= steps[-1]
