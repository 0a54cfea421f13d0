"""What a run file killed at a random moment must hold: one check per kind of killed job.

`check_killed_file(mode, path, result)` opens the file with plain h5py and with the product's reader
and checks that it holds a consistent prefix: every series of a group has the same length, the steps
run 1..N, every step the child reported flushed is there, the secondary records (manifolds, scores,
exponents, sample grids, checkpoints, chains) hold exactly the steps their schedule puts at or before
N, and at most one flush interval of progress was lost. It returns N, the last step saved.

To cover a new kind of job (a sweep, the chaos app), add a mode to killable_run.py and a row to CHECKS.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
from helpers.killable_run import CHAOS_TRAIN, FLUSH_INTERVAL, GKN_SAMPLE, GKN_TRAIN
from helpers.killing import KillResult

from gkn_core.runs.reader import open_run

# The writer flushes when FLUSH_INTERVAL has passed at the end of a step; a flush takes milliseconds.
FLUSH_SLACK = 0.1


def scheduled(every: int | None, last: int) -> list[int]:
    """Steps a record is made at: the first step and every `every` steps, up to `last`."""
    if every is None or last < 1:
        return []
    return sorted({1, *range(every, last + 1, every)})


def series_group(f: h5py.File, where: str) -> dict[str, np.ndarray]:
    """All series of a group, checked to have one length."""
    group = f[where]
    series = {name: group[name][()] for name in group}
    lengths = {name: len(values) for name, values in series.items()}
    assert len(set(lengths.values())) == 1, f"{where}: series of different lengths {lengths}"
    return series


def check_steps(f: h5py.File, where: str, flushed: int) -> int:
    steps = series_group(f, where)["step"]
    np.testing.assert_array_equal(steps, np.arange(1, len(steps) + 1))
    assert len(steps) >= flushed, f"{where}: {len(steps)} steps saved, {flushed} reported flushed"
    return len(steps)


def check_checkpoints(f: h5py.File, last: int) -> list[int]:
    steps = []
    for name in f.get("checkpoints", {}):
        group = f[f"checkpoints/{name}"]
        steps.append(int(group.attrs["step"]))
        assert all(np.isfinite(group[w][()]).all() for w in group), f"checkpoint {name} not finite"
    assert all(step <= last for step in steps), f"checkpoints {steps} after the last saved step {last}"
    return sorted(steps)


def gkn_train(f: h5py.File, path: Path, result: KillResult) -> int:
    last = check_steps(f, "train/metrics", result.flushed)
    settings = GKN_TRAIN["train"]
    if "train/manifolds" in f:
        frames = f["train/manifolds"]
        np.testing.assert_array_equal(frames["step"][()], scheduled(settings["manifold_every"], last))
        assert frames["loss"].shape[0] == frames["displacement"].shape[0] == len(frames["step"])
    checkpoints = check_checkpoints(f, last)
    # keep-best: a checkpoint every checkpoint_every steps, named by the step of the best weights
    assert len(checkpoints) <= last // settings["checkpoint_every"]
    with open_run(path) as run:
        assert len(run.train_metrics()["step"]) == last
        if checkpoints:
            run.load_model()
    return last


def gkn_sample(f: h5py.File, path: Path, result: KillResult) -> int:
    assert f["train"].attrs["status"] == "completed"
    group = f["sampling/0000"]
    last = check_steps(f, "sampling/0000/metrics", result.flushed)
    chains = group["chains"]
    assert chains.shape[0] == GKN_SAMPLE["chains"] and chains.shape[1] == last + 1
    assert np.isfinite(chains[()]).all()
    with open_run(path) as run:
        record = run.sampling()
        assert record.status == "running" and record.chains.shape[1] == last + 1
    return last


def chaos_train(f: h5py.File, path: Path, result: KillResult) -> int:
    from gkn_core.chaos.runfile import load_chaos_model

    last = check_steps(f, "train/metrics", result.flushed)
    settings = CHAOS_TRAIN["train"]
    for where, every in (("train/scores", "metrics_every"), ("train/lyapunov", "lyapunov_every")):
        np.testing.assert_array_equal(series_group(f, where)["step"], scheduled(settings[every], last))
    samples = f["train/samples"]
    np.testing.assert_array_equal(samples["step"][()], scheduled(settings["sample_every"], last))
    assert samples["images"].shape[0] == len(samples["step"]) and np.isfinite(samples["images"][()]).all()
    checkpoints = check_checkpoints(f, last)
    assert checkpoints == list(range(settings["checkpoint_every"], last + 1, settings["checkpoint_every"]))
    with open_run(path) as run:
        if checkpoints:
            _, step = load_chaos_model(run)
            assert step == checkpoints[-1]
    return last


def chaos_sample(f: h5py.File, path: Path, result: KillResult) -> int:
    assert f["train"].attrs["status"] == "completed"
    group = f["sampling/0000"]
    last = check_steps(f, "sampling/0000/metrics", result.flushed)
    assert group["trajectories"].shape[1] == last + 1 and np.isfinite(group["trajectories"][()]).all()
    assert "samples" not in group  # samples are written when a sampling completes
    with open_run(path) as run:
        assert run.sampling_names() == ["0000"]
    return last


CHECKS: dict[str, Callable[[h5py.File, Path, KillResult], int]] = {
    "train": gkn_train,
    "sample": gkn_sample,
    "chaos-train": chaos_train,
    "chaos-sample": chaos_sample,
}


def check_killed_file(mode: str, path: Path, result: KillResult) -> int:
    """Check a killed run file (see the module doc); returns the last step it saved."""
    with h5py.File(path, "r", locking=False) as f:  # plain h5py, no help from the product
        assert f.attrs["status"] == "running", "a killed job cannot have closed its file"
        last = CHECKS[mode](f, path, result)
    # at most one flush interval lost: the oldest step missing from the file was reached no earlier
    # than one flush interval (plus one step and the flush itself) before the kill
    allowed = FLUSH_INTERVAL + result.longest_step() + FLUSH_SLACK
    lost = result.lost_seconds(last)
    assert lost <= allowed, (
        f"lost {lost:.3f} s of progress (steps {last + 1}..{result.reached}); {allowed=:.3f}"
    )
    return last
