"""Run files of format version 1 (before SWMR: state as attributes, a group per checkpoint) still open,
read, check and take new samplings exactly as before.

tests/data/v1-gkn.h5 and v1-chaos.h5 were written by GKN Studio before format 2 (a 30-step 1d gkn run
with one sampling, a 3-step digits8 chaos run with one sampling).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np

from gkn_core.chaos.runfile import export_arrays, load_chaos_model
from gkn_core.gkn.sessions import sampling_session
from gkn_core.runs.check import check_run
from gkn_core.runs.reader import open_run

DATA = Path(__file__).parent / "data"


def test_a_version_1_gkn_run_reads_as_before():
    path = DATA / "v1-gkn.h5"
    with h5py.File(path, "r") as f:  # plain h5py, as documented for version 1
        assert f.attrs["format_version"] == 1 and f.attrs["status"] == "completed"
        assert sorted(f["checkpoints"]) == ["0000000009", "0000000019", "0000000029"]
        newest = {name: value[()] for name, value in f["checkpoints/0000000029"].items()}
    with open_run(path) as run:
        assert run.format_version == 1 and run.status == "completed" and run.failure_reason == ""
        assert run.info["status"] == "completed" and run.info["updated"].endswith("+00:00")
        assert run.checkpoint_steps() == [9, 19, 29]
        assert len(run.train_metrics()["step"]) == 30
        np.testing.assert_array_equal(run.manifolds()["step"], [1, 10, 20, 30])
        checkpoint = run.checkpoint()
        assert checkpoint.step == 29 and sorted(checkpoint.weights) == sorted(newest)
        for name, value in checkpoint.weights.items():
            np.testing.assert_array_equal(value, newest[name])
        run.load_model()
        record = run.sampling()
        assert record.status == "completed" and record.samples.shape == (4, 1)
        assert record.chains.shape == (4, 7, 1)
    report = check_run(path)
    assert report.datasets > 10 and report.checksummed == report.datasets


def test_a_version_1_chaos_run_reads_as_before():
    path = DATA / "v1-chaos.h5"
    with open_run(path) as run:
        assert run.kind == "chaos" and run.format_version == 1 and run.status == "completed"
        assert run.checkpoint_steps() == [2, 3]
        _, step = load_chaos_model(run)
        assert step == 3
        assert export_arrays(run, "samples", None)["samples"].shape == (3, 64)
        assert run.state("status", "sampling/0000") == "completed"
    assert check_run(path).datasets > 10


def test_sampling_a_version_1_run_keeps_it_version_1(tmp_path):
    path = tmp_path / "old.h5"
    shutil.copyfile(DATA / "v1-gkn.h5", path)
    _, snapshots = sampling_session(path, {"chains": 3, "steps": 5, "burn_in": 1})
    assert len(list(snapshots)) == 5
    assert not list(tmp_path.glob(".*partial"))  # the copy it was made on was renamed into place
    with h5py.File(path, "r") as f:  # still readable the version 1 way: state as attributes
        assert f.attrs["format_version"] == 1 and f.attrs["status"] == "completed"
        assert f["sampling/0001"].attrs["status"] == "completed"
    with open_run(path) as run:
        record = run.sampling()
        assert record.name == "0001" and record.status == "completed"
        assert record.samples.shape == (3, 1) and record.chains.shape == (3, 6, 1)
        np.testing.assert_array_equal(record.samples, record.chains[:, -1])
        assert run.sampling(0).samples.shape == (4, 1)  # the old sampling, untouched
