"""Trajectory jobs of chaotic RNNs, their recordings in run files, exports and the CLI, on small nets."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from gkn_core.chaos.config import ChaosModelConfig, chaos_preset_config
from gkn_core.chaos.models import build_chaos_model
from gkn_core.chaos.recordings import (
    UNTRAINED_REASON,
    export_recording,
    new_untrained_run,
    read_recording,
    read_recording_file,
    write_recording,
)
from gkn_core.chaos.runfile import load_chaos_model, recording_names
from gkn_core.chaos.trajectories import TrajectoryJob, TrajectoryRecording, trajectory_settings
from gkn_core.errors import ConfigError, GKNError, RunFileError
from gkn_core.runs.reader import open_run

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def network(g: float = 1.5, arch: str = "restricted2", nv: int = 64, nh: int = 100, seed: int = 0):
    return build_chaos_model(ChaosModelConfig(arch=arch, Nh=nh, Nh2=30, g=g), nv, seed=seed)


def run_job(g: float = 1.5, **settings) -> tuple[TrajectoryJob, list]:
    job = TrajectoryJob(network(g), trajectory_settings(settings), "untrained", model_seed=0)
    return job, list(job)


@pytest.fixture(scope="module")
def recording() -> TrajectoryRecording:
    job, _ = run_job(steps=60, chains=3, fit_steps=20, chunk=7)
    return job.recording()


@pytest.fixture
def untrained_run(tmp_path) -> Path:
    config = chaos_preset_config("digits8", {"device": "cpu", "model": {"g": 1.5}})
    return new_untrained_run(tmp_path / "untrained.h5", config)


def test_snapshots_have_the_documented_shapes_and_times():
    job, snaps = run_job(steps=45, chains=4, fit_steps=20, chunk=10, transient=5)
    # the first job step records max(chunk, fit_steps) = 20 steps plus the start, then 10, 10, 5
    assert job.total_steps == 4 and [s.step for s in snaps] == [1, 2, 3, 4]
    assert [s.states.shape for s in snaps] == [(4, 21, 164), (4, 10, 164), (4, 10, 164), (4, 5, 164)]
    assert snaps[0].rates.shape == (4, 21, 64) and snaps[0].projection.shape == (4, 21, 3)
    t = np.concatenate([s.t for s in snaps])
    np.testing.assert_allclose(t, (5 + np.arange(46)) * 0.1)  # dt / tau = 0.1, the transient counts
    first = snaps[0]
    assert first.unit_names[:2] == ("v0", "v1") and first.unit_names[64] == "h0" and first.g == 1.5
    assert not first.states.flags.writeable and first.states.dtype == np.float32
    np.testing.assert_allclose(first.rates, np.tanh(first.states[:, :, :64]), atol=1e-6)


def test_the_same_seed_gives_the_same_trajectories_and_another_does_not():
    a = run_job(steps=30, chains=2, seed=3)[0].recording()
    b = run_job(steps=30, chains=2, seed=3)[0].recording()
    c = run_job(steps=30, chains=2, seed=4)[0].recording()
    np.testing.assert_array_equal(a.states, b.states)
    np.testing.assert_array_equal(a.projection, b.projection)
    assert np.abs(a.states[:, 0] - c.states[:, 0]).max() > 0.5


def test_pca_fractions_and_the_projection(recording):
    explained = recording.explained
    assert np.all(explained >= 0) and explained.sum() <= 1 + 1e-12
    assert explained[0] >= explained[1] >= explained[2] > 0.02
    np.testing.assert_allclose(recording.components @ recording.components.T, np.eye(3), atol=1e-5)
    fit = recording.states[:, :21].reshape(-1, recording.states.shape[2])
    np.testing.assert_allclose(recording.mean, fit.mean(0), atol=1e-5)  # fitted on frames 0..fit_steps
    expected = (recording.states - recording.mean) @ recording.components.T
    np.testing.assert_allclose(recording.projection, expected, atol=2e-5)
    total = ((fit - fit.mean(0)) ** 2).sum()
    along_first = (((fit - fit.mean(0)) @ recording.components[0]) ** 2).sum()
    assert along_first / total == pytest.approx(explained[0], rel=1e-4)


def test_below_the_edge_of_chaos_trajectories_decay_and_above_they_keep_fluctuating():
    late = {}
    for g in (0.5, 2.5):
        states = run_job(g, steps=400, chains=4)[0].recording().states
        late[g] = float(states[:, -100:].var(axis=1).mean())  # variance over the last 10 tau
    # measured: 3e-16 at g = 0.5 (the fixed point x = 0), 1.1 at g = 2.5
    assert late[0.5] < 1e-8
    assert late[2.5] > 0.3


def test_layers_choose_the_units_and_bad_settings_are_one_line():
    model = network(arch="restricted3", nv=16, nh=20)
    job = TrajectoryJob(model, trajectory_settings({"steps": 5, "layers": ["hidden2", "visible"]}))
    assert job.unit_names[:2] == ("h2_0", "h2_1") and job.unit_names[-1] == "v15"
    np.testing.assert_array_equal(job.units, np.r_[36:66, 0:16])
    assert next(iter(job)).rates.shape == (6, 6, 16)
    with pytest.raises(ConfigError, match=r"'hidden' is not a layer of a restricted3 network"):
        TrajectoryJob(model, trajectory_settings({"layers": ["hidden"]}))
    unrestricted = network(arch="unrestricted", nv=16, nh=20)
    job = TrajectoryJob(unrestricted, trajectory_settings({"steps": 5, "layers": ["hidden"]}))
    np.testing.assert_array_equal(job.units, np.arange(16, 36))
    for raw, message in [
        ({"chains": 0}, "trajectory.chains: must be greater than or equal to 1 (got 0)"),
        ({"chains": 65}, "trajectory.chains: must be less than or equal to 64 (got 65)"),
        ({"layers": ["all", "visible"]}, "'all' already holds every layer"),
        ({"layers": ["deep"]}, "trajectory.layers.0: must be 'all', 'visible',"),
        ({"colour": 1}, "trajectory.colour: unknown setting"),
    ]:
        with pytest.raises(ConfigError) as error:
            trajectory_settings(raw)
        assert message in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(ConfigError, match="more than 50 M"):
        TrajectoryJob(network(nv=784, nh=500), trajectory_settings({"chains": 64, "steps": 100_000}))


def test_recording_round_trips_through_the_run_file(untrained_run, recording):
    assert write_recording(untrained_run, recording) == "0000"
    assert write_recording(untrained_run, recording) == "0001"
    with open_run(untrained_run) as run:
        assert recording_names(run) == ["0000", "0001"]
        back = read_recording(run, 0)
        assert read_recording(run).source == "untrained"
        with pytest.raises(RunFileError, match="has 2 recordings; there is no number 5"):
            read_recording(run, 5)
    for name in ("t", "units", "states", "rates", "projection", "components", "mean", "explained"):
        np.testing.assert_array_equal(getattr(back, name), getattr(recording, name))
    assert back.settings == recording.settings and back.model_config == recording.model_config
    assert (back.n_visible, back.seed, back.model_seed) == (64, 0, 0)
    assert back.layers == ("visible", "hidden") and back.layer_sizes == (64, 100)
    assert back.unit_names == recording.unit_names


def test_a_torn_or_damaged_recording_is_skipped_or_refused(untrained_run, recording):
    write_recording(untrained_run, recording)
    with h5py.File(untrained_run, "r+") as f:  # a write killed before its `complete` flag
        f["recordings"].create_group("0001").create_dataset("states", data=np.zeros((1, 2, 3)))
    assert write_recording(untrained_run, recording) == "0002"
    with open_run(untrained_run) as run:
        assert recording_names(run) == ["0000", "0002"]
    with h5py.File(untrained_run, "r+") as f:
        del f["recordings/0002/mean"]
        f["recordings/0002"].create_dataset("mean", data=np.zeros(7, np.float32))
    with open_run(untrained_run) as run, pytest.raises(RunFileError) as error:
        read_recording(run, "0002")
    assert str(error.value).endswith("recording 0002 is damaged: mean has shape (7,), expected (164,)")


def test_exports_round_trip_with_exact_values(tmp_path, recording):
    shapes = export_recording(recording, "h5", tmp_path / "r.h5")
    assert shapes["states"] == (3, 61, 164)
    back = read_recording_file(tmp_path / "r.h5")
    np.testing.assert_array_equal(back.states, recording.states)
    np.testing.assert_array_equal(back.projection, recording.projection)
    assert back.settings == recording.settings

    export_recording(recording, "npz", tmp_path / "r.npz")
    with np.load(tmp_path / "r.npz") as npz:  # no pickles: strings are plain unicode arrays
        np.testing.assert_array_equal(npz["rates"], recording.rates)
        np.testing.assert_array_equal(npz["t"], recording.t)
        assert json.loads(str(npz["settings_json"]))["chains"] == 3
        assert json.loads(str(npz["model_json"]))["arch"] == "restricted2"
        assert npz["unit_names"][64] == "h0" and str(npz["source"]) == "untrained"

    export_recording(recording, "csv", tmp_path / "r.csv")
    with open(tmp_path / "r.csv") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:5] == ["chain", "step", "t", "v0", "v1"] and rows[0][67] == "h0"
    assert len(rows) == 1 + 3 * 61
    values = np.asarray(rows[1:], dtype=np.float64)
    np.testing.assert_array_equal(values[:, 0], np.repeat(np.arange(3), 61))
    np.testing.assert_array_equal(values[:, 2], np.tile(recording.t, 3))
    np.testing.assert_array_equal(values[:, 3:].astype(np.float32).reshape(3, 61, 164), recording.states)

    with pytest.raises(GKNError, match="already exists"):
        export_recording(recording, "csv", tmp_path / "r.csv")
    export_recording(recording, "csv", tmp_path / "r.csv", overwrite=True)
    with pytest.raises(GKNError, match=r"--format: 'xlsx' is not one of h5, npz, csv"):
        export_recording(recording, "xlsx", tmp_path / "r.xlsx")
    with pytest.raises(GKNError, match="does not exist"):
        export_recording(recording, "npz", tmp_path / "nowhere" / "r.npz")


def test_the_untrained_run_opens_and_holds_the_seeded_weights(untrained_run):
    with open_run(untrained_run) as run:
        assert run.kind == "chaos" and run.checkpoint_steps() == [0] and run.dim == 64
        assert run.state("status", "train") == "stopped"
        assert run.state("failure_reason", "train") == UNTRAINED_REASON
        model, step = load_chaos_model(run)
        config = run.config
    fresh = build_chaos_model(config.model, 64, seed=config.seed)
    assert step == 0
    for name, weight in fresh.weights().items():
        np.testing.assert_array_equal(model.weights()[name].numpy(), weight.numpy())


def test_cli_shows_measures_and_exports_a_recording(gkn, untrained_run, recording, tmp_path):
    write_recording(untrained_run, recording)
    done = gkn("runs", "show", str(untrained_run))
    assert done.returncode == 0, done.stderr
    assert "recording 0000" in done.stdout and "untrained: 3 chains x 61 frames x 164 units" in done.stdout
    done = gkn("lyapunov", str(untrained_run), "--exponents", "2", "--steps", "30", "--transient", "10")
    assert done.returncode == 0, done.stderr
    assert "at step 0 (g=1.5)" in done.stdout
    out = tmp_path / "rec.npz"
    done = gkn("export", str(untrained_run), "--what", "recording", "--format", "npz", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {out} (t 61, units 164, states 3x61x164")
    with np.load(out) as npz:
        np.testing.assert_array_equal(npz["states"], recording.states)
    args = ("export", str(untrained_run), "--what", "recording", "--recording", "3")
    done = gkn(*args, "--out", str(tmp_path / "rec.csv"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "has 1 recordings; there is no number 3" in done.stderr
