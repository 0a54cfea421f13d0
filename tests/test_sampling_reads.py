"""What reads a sampling's chains (#17.5): a sampling of millions of steps keeps its states on disk, so
nothing that only reports on it may read them all back. `gkn sample`'s closing line, `gkn runs show`,
the sample-distance metric and a samples export of a sampling without stored samples (a killed
sampler) read at most one generation; only a chains export reads the whole dataset.

The bytes are counted where every read of a run's chains passes (`read_checked` on a `chains`
dataset), and the sampling's chains are much larger than one generation.
"""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest

import gkn_core.gkn.export as export_module
import gkn_core.gkn.runfile as runfile_module
import gkn_core.runs.h5util as h5util
from gkn_core.cli import main
from gkn_core.gkn.config import preset_config
from gkn_core.gkn.export import export_arrays
from gkn_core.gkn.metrics import gkn_metrics
from gkn_core.gkn.sessions import training_session
from gkn_core.runs.reader import open_run

CHAINS, STEPS = 50, 400  # 401 generations of 50 x 1 states


@pytest.fixture(scope="module")
def sampled(tmp_path_factory):
    path = tmp_path_factory.mktemp("reads") / "sampled.h5"
    list(training_session(preset_config("1d", {"device": "cpu", "train": {"steps": 30}}), path)[1])
    with pytest.raises(SystemExit) as info:
        main(["sample", str(path), "--chains", str(CHAINS), "--steps", str(STEPS), "-q", "--device", "cpu"])
    assert info.value.code == 0
    return path


@pytest.fixture
def chain_reads(monkeypatch):
    """The number of chain states (values) read from `chains` datasets."""
    read: list[int] = []

    def counting(real):
        def read_checked(path, dataset, selection=()):
            values = real(path, dataset, selection)
            if dataset.name.endswith("/chains"):
                read.append(int(np.size(values)))
            return values

        return read_checked

    for module in (runfile_module, export_module):
        real = getattr(module, "read_checked", h5util.read_checked)
        monkeypatch.setattr(module, "read_checked", counting(real), raising=False)
    return read


def run_main(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert info.value.code == 0, err
    return out


def test_the_sample_report_and_runs_show_read_no_chain_state(sampled, tmp_path, chain_reads, capsys):
    copy = tmp_path / "again.h5"
    shutil.copyfile(sampled, copy)
    out = run_main(capsys, "sample", copy, "--chains", CHAINS, "--steps", STEPS, "-q", "--device", "cpu")
    assert f"{CHAINS} chains x {STEPS} steps" in out
    shown = run_main(capsys, "runs", "show", copy)
    assert shown.count(f"{CHAINS} chains x {STEPS} steps") == 2  # both samplings, counted right
    assert sum(chain_reads) == 0


def test_the_sample_distance_metric_reads_no_chain_state(sampled, chain_reads):
    with open_run(sampled) as run:
        distance = gkn_metrics(run, ("sample_distance",), {}, "cpu")["sample_distance"]
    assert np.isfinite(distance) and distance >= 0
    assert sum(chain_reads) == 0


def test_samples_of_a_killed_sampling_are_its_last_generation_read_alone(sampled, tmp_path, chain_reads):
    killed = tmp_path / "killed.h5"
    shutil.copyfile(sampled, killed)
    with h5py.File(killed, "a") as f:
        (name,) = list(f["sampling"])
        expected = f[f"sampling/{name}/samples"][()]
        del f[f"sampling/{name}/samples"]  # as a sampler killed before its end left it
    with open_run(killed) as run:
        samples = export_arrays(run, "samples", None)["samples"]
    np.testing.assert_array_equal(samples, expected)  # the last states are the samples
    assert chain_reads == [CHAINS]  # one generation of CHAINS states of one value
    with open_run(killed) as run:
        chains = export_arrays(run, "chains", None)["chains"]
    assert chains.shape == (CHAINS, STEPS + 1, 1) and chain_reads[-1] == chains.size
