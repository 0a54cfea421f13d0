"""What a run file killed at a random moment must hold: one check per kind of killed job.

`check_killed_file(mode, path, result)` opens the file with plain h5py (`h5py.File(path, "r",
swmr=True)`: a run file is written in SWMR mode, and a killed writer leaves HDF5's "open for writing"
flag set) and with the product's reader and checks that it holds a consistent prefix: the steps run
1..N, every step the child reported flushed is there, every series of a group holds N rows (one a
kill caught inside a flush may hold more, never fewer, and never more than the steps reached), the
secondary records (manifolds, scores, exponents, sample grids, checkpoints, chains) hold exactly the
steps their schedule puts at or before N, the reader agrees, and at most one flush interval of
progress was lost. It returns N, the last step saved.

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


def state(f: h5py.File, where: str, name: str = "status") -> str:
    """A state string of format version 2: a one-element string dataset."""
    return f[f"{where}/{name}"][0].decode()


def series_group(
    f: h5py.File, where: str, reached: int | None = None, names: tuple[str, ...] = ()
) -> dict[str, np.ndarray]:
    """All series of a group (or those `names`), cut to the shortest: a kill inside a flush may leave
    some series a flush longer than others (never longer than `reached`, the steps reached)."""
    group = f[where]
    series = {name: group[name][()] for name in names or group}
    lengths = {name: len(values) for name, values in series.items()}
    shortest = min(lengths.values())
    if reached is not None:
        assert max(lengths.values()) <= max(reached, shortest), f"{where}: {lengths}, {reached=}"
    return {name: values[:shortest] for name, values in series.items()}


def check_steps(f: h5py.File, where: str, flushed: int, reached: int | None = None) -> int:
    steps = series_group(f, where, reached)["step"]
    np.testing.assert_array_equal(steps, np.arange(1, len(steps) + 1))
    assert len(steps) >= flushed, f"{where}: {len(steps)} steps saved, {flushed} reported flushed"
    return len(steps)


def saved_records(steps: np.ndarray, last: int, reached: int | None) -> np.ndarray:
    """The steps of a secondary record (frames, grids, scores, checkpoints) that belong to saved
    steps (<= last). The writer writes a flush's metrics rows after everything else, so a kill inside
    a flush may leave records of steps past `last` (never past the steps reached), never fewer."""
    steps = np.asarray(steps)
    if reached is not None:
        assert (steps <= reached).all(), f"records at steps {steps[steps > reached]}, {reached=}"
    return steps[steps <= last]


def check_checkpoints(f: h5py.File, last: int, reached: int | None = None) -> list[int]:
    """The checkpoint stacks: steps, losses and every weight stack, cut to the count all of them hold."""
    group = f["checkpoints"]
    stacks = [group["step"], group["loss"], *group["weights"].values()]
    count = min(len(stack) for stack in stacks)
    steps = [int(step) for step in group["step"][:count]]
    for name, stack in group["weights"].items():
        assert np.isfinite(stack[:count]).all(), f"checkpoint weights {name} not finite"
    assert steps == sorted(set(steps)), f"checkpoint steps {steps} not increasing"
    return [int(step) for step in saved_records(np.asarray(steps, dtype=np.int64), last, reached)]


def gkn_train(f: h5py.File, path: Path, result: KillResult) -> int:
    last = check_steps(f, "train/metrics", result.flushed, result.highest)
    settings = GKN_TRAIN["train"]
    # the stacks of frames and their steps, cut alike (the grid's axes xs, ys are not stacks)
    frames = series_group(f, "train/manifolds", names=("step", "loss", "displacement"))
    saved = saved_records(frames["step"], last, result.highest)
    np.testing.assert_array_equal(saved, scheduled(settings["manifold_every"], last))
    assert np.isfinite(frames["loss"]).all() and np.isfinite(frames["displacement"]).all()
    checkpoints = check_checkpoints(f, last, result.highest)
    # keep-best: a checkpoint every checkpoint_every steps, named by the step of the best weights
    # (one written in the flush a kill cut may be of a step <= last)
    assert len(checkpoints) <= result.highest // settings["checkpoint_every"]
    with open_run(path) as run:
        assert len(run.train_metrics()["step"]) == last and run.checkpoint_steps() == checkpoints
        np.testing.assert_array_equal(run.manifolds()["step"], scheduled(settings["manifold_every"], last))
        if checkpoints:
            run.load_model()
    return last


def gkn_sample(f: h5py.File, path: Path, result: KillResult) -> int:
    assert state(f, "train") == "completed" and state(f, "sampling/0000") == "running"
    group = f["sampling/0000"]
    last = check_steps(f, "sampling/0000/metrics", result.flushed, result.highest)
    chains = group["chains"]
    assert chains.shape[0] == GKN_SAMPLE["chains"]
    assert last + 1 <= chains.shape[1] <= result.highest + 1, (chains.shape, last, result.highest)
    assert np.isfinite(chains[:, : last + 1]).all()
    assert len(group["samples"]) == 0  # samples are written when a sampling ends
    with open_run(path) as run:
        record = run.sampling()
        assert record.status == "running" and record.chains.shape[1] == last + 1
    return last


def chaos_train(f: h5py.File, path: Path, result: KillResult) -> int:
    from gkn_core.chaos.runfile import chaos_series, load_chaos_model

    last = check_steps(f, "train/metrics", result.flushed, result.highest)
    settings = CHAOS_TRAIN["train"]
    for where, every in (("train/scores", "metrics_every"), ("train/lyapunov", "lyapunov_every")):
        saved = saved_records(series_group(f, where)["step"], last, result.highest)
        np.testing.assert_array_equal(saved, scheduled(settings[every], last))
    samples = series_group(f, "train/samples")
    saved = saved_records(samples["step"], last, result.highest)
    np.testing.assert_array_equal(saved, scheduled(settings["sample_every"], last))
    assert np.isfinite(samples["images"]).all()
    checkpoints = check_checkpoints(f, last, result.highest)
    assert checkpoints == list(range(settings["checkpoint_every"], last + 1, settings["checkpoint_every"]))
    with open_run(path) as run:
        assert run.checkpoint_steps() == checkpoints
        for where, every in (("train/scores", "metrics_every"), ("train/lyapunov", "lyapunov_every")):
            np.testing.assert_array_equal(chaos_series(run, where)["step"], scheduled(settings[every], last))
        if checkpoints:
            _, step = load_chaos_model(run)
            assert step == checkpoints[-1]
    return last


def chaos_sample(f: h5py.File, path: Path, result: KillResult) -> int:
    assert state(f, "train") == "completed" and state(f, "sampling/0000") == "running"
    group = f["sampling/0000"]
    last = check_steps(f, "sampling/0000/metrics", result.flushed, result.highest)
    trajectories = group["trajectories"]
    assert last + 1 <= trajectories.shape[1] <= result.highest + 1, (trajectories.shape, last, result.highest)
    assert np.isfinite(trajectories[:, : last + 1]).all()
    assert len(group["samples"]) == 0  # samples are written when a sampling completes
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
    with h5py.File(path, "r", locking=False, swmr=True) as f:  # plain h5py, no help from the product
        assert f.attrs["format_version"] == 2
        assert state(f, "/") == "running", "a killed job cannot have closed its file"
        last = CHECKS[mode](f, path, result)
    with open_run(path) as run:
        assert run.status == "running" and run.format_version == 2
    # at most one flush interval lost: the oldest step missing from the file was reached no earlier
    # than one flush interval (plus one step and the flush itself) before the kill
    allowed = FLUSH_INTERVAL + result.longest_step() + FLUSH_SLACK
    lost = result.lost_seconds(last)
    assert lost <= allowed, (
        f"lost {lost:.3f} s of progress (steps {last + 1}..{result.reached}); {allowed=:.3f}"
    )
    return last
