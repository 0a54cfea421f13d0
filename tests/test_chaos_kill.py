"""SIGKILL during chaos training leaves a run file that plain h5py opens, holding everything flushed."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from gkn_core.chaos.runfile import load_chaos_model
from gkn_core.runs.reader import open_run

CHILD = Path(__file__).parent / "helpers" / "chaos_killable_run.py"
KILLS = int(os.environ.get("GKN_KILL_COUNT", "3"))


def run_and_kill(path: Path, rng: random.Random) -> int:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    flushed: list[int] = []
    first = threading.Event()

    def read() -> None:
        for line in child.stdout:
            if line.startswith("flushed"):
                flushed.append(int(line.split()[1]))
                if flushed[-1] > 0:
                    first.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 90
    while not first.wait(timeout=0.1):
        assert child.poll() is None, f"the child exited with {child.returncode} before its first flush"
        assert time.monotonic() < deadline, "the child never flushed a step"
    time.sleep(rng.uniform(0.05, 1.5))
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    reader.join(timeout=10)
    assert child.returncode == -signal.SIGKILL
    return flushed[-1]


@pytest.mark.parametrize("attempt", range(KILLS))
def test_chaos_training_killed_at_a_random_moment(tmp_path, attempt):
    path = tmp_path / "killed.h5"
    flushed_step = run_and_kill(path, random.Random(attempt))
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
