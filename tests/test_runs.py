"""HDF5 run files: what a run writes, what plain h5py sees, and the reader's one-line errors."""

import json
import shutil

import h5py
import numpy as np
import pytest
import torch

from gkn_core.errors import RunFileError
from gkn_core.gkn.config import preset_config
from gkn_core.gkn.sessions import sampling_session, training_session
from gkn_core.runs.reader import open_run


@pytest.fixture
def trained_run(tmp_path, quick_1d_overrides):
    path = tmp_path / "run.h5"
    job, snapshots = training_session(preset_config("1d", quick_1d_overrides), path)
    losses = [s.loss for s in snapshots]
    return path, job, losses


def test_plain_h5py_sees_a_self_describing_run(trained_run):
    path, job, losses = trained_run
    with h5py.File(path, "r") as f:  # a closed file: a plain read, SWMR or not
        attrs = dict(f.attrs)
        assert attrs["format"] == "gkn-studio-run" and attrs["format_version"] == 2
        assert attrs["kind"] == "gkn" and "status" not in attrs  # SWMR: state lives in datasets
        assert f["status"][0] == b"completed" and f["failure_reason"][0] == b""
        assert f["train/status"][0] == b"completed" and f["updated"][0].decode().endswith("+00:00")
        assert attrs["seed"] == 0 and attrs["device"] == "cpu" and attrs["software_version"]
        assert attrs["created"].endswith("+00:00")
        config = json.loads(f["config"].attrs["json"])
        assert config["model"] == {"layers": 7, "hidden": 10, "activation": "relu"}
        assert f["config/model"].attrs["layers"] == 7  # also browsable as attributes
        np.testing.assert_array_equal(f["train/metrics/step"][:], np.arange(1, 301))
        np.testing.assert_allclose(f["train/metrics/loss"][:], losses)
        assert f["train/metrics/loss"].maxshape == (None,) and f["train/metrics/loss"].chunks
        np.testing.assert_array_equal(f["data/x"][:], np.float32([[0.2], [0.8]]))
        manifolds = f["train/manifolds"]
        assert manifolds.attrs["kind"] == "1d"
        np.testing.assert_array_equal(manifolds["step"][:], [1, 50, 100, 150, 200, 250, 300])
        assert manifolds["fx"].shape == (7, 100) and manifolds["x"].shape == (100,)
        checkpoints = f["checkpoints"]  # stacks: one row per checkpoint
        steps = list(checkpoints["step"][:])  # keep-best: named by the step of the best weights
        assert steps[-1] == job.best_step and steps == sorted(set(steps)) and 1 <= len(steps) <= 3
        assert checkpoints["loss"].shape == checkpoints["step"].shape
        for name, value in job.model.state_dict().items():
            stack = checkpoints["weights"][name]  # plain arrays, no pickle
            assert stack.shape == (len(checkpoints["step"]), *value.shape)
            np.testing.assert_array_equal(stack[-1], value.numpy())


def test_reader_rebuilds_the_trained_model(trained_run):
    path, job, _ = trained_run
    with open_run(path) as run:
        assert run.status == "completed" and run.config.model.layers == 7
        model = run.load_model()
        grid = torch.linspace(0, 1, 11)[:, None]
        with torch.no_grad():
            np.testing.assert_allclose(model(grid).numpy(), job.model(grid).numpy(), rtol=0, atol=1e-7)
        frames = run.manifolds()
        np.testing.assert_allclose(
            frames["fx"][-1], model(torch.from_numpy(frames["x"][:, None]))[:, 0].detach()
        )


def test_sampling_appends_to_the_run(trained_run):
    path, _, _ = trained_run
    for _ in range(2):
        _, snapshots = sampling_session(path, {"chains": 8, "steps": 12, "noise": 0.01, "burn_in": 2})
        states = [s.states for s in snapshots]
    with open_run(path) as run:
        assert run.sampling_names() == ["0000", "0001"]
        record = run.sampling()
        assert record.status == "completed" and record.settings.chains == 8
        assert record.chains.shape == (8, 13, 1)
        np.testing.assert_array_equal(record.chains[:, 1:], np.stack(states, axis=1))
        np.testing.assert_array_equal(record.samples, record.chains[:, -1])
        np.testing.assert_array_equal(record.metrics["step"], np.arange(1, 13))
        assert record.seed != run.sampling(0).seed  # each sampling draws new starts
        assert run.status == "completed"


def test_stopping_closes_the_file_with_status_stopped(tmp_path):
    path = tmp_path / "stopped.h5"
    job, snapshots = training_session(preset_config("1d", {"train": {"steps": 10_000}}), path)
    for snap in snapshots:
        if snap.step == 25:
            job.stop()
    with open_run(path) as run:
        assert run.status == "stopped"
        assert run.train_metrics()["step"][-1] == 25
        assert run.checkpoint_steps()[-1] == job.best_step  # the model so far, ready to sample
        run.load_model()


def test_closing_the_generator_marks_the_run_stopped(tmp_path):
    path = tmp_path / "closed.h5"
    _, snapshots = training_session(preset_config("1d", {"train": {"steps": 10_000}}), path)
    next(snapshots)
    snapshots.close()
    with h5py.File(path, "r") as f:
        assert f["status"][0] == b"stopped" and f["train/status"][0] == b"stopped"


def test_divergence_marks_the_run_failed_and_keeps_a_good_checkpoint(tmp_path):
    path = tmp_path / "diverged.h5"
    job, snapshots = training_session(preset_config("1d", {"train": {"steps": 100}}), path)
    with pytest.raises(Exception, match="diverged"):
        for snap in snapshots:
            if snap.step == 10:
                with torch.no_grad():
                    next(job.model.parameters()).fill_(float("inf"))
    with open_run(path) as run:
        assert run.status == "failed"
        assert "loss became nan at step 11" in run.failure_reason
        checkpoint = run.checkpoint()
        assert all(np.isfinite(w).all() for w in checkpoint.weights.values())
        run.load_model()


def test_an_existing_run_is_never_overwritten_by_accident(trained_run):
    path, _, _ = trained_run
    before = path.read_bytes()
    with pytest.raises(RunFileError, match="already exists"):
        training_session(preset_config("1d"), path)
    assert path.read_bytes() == before


def test_unwritable_places_give_one_line(tmp_path):
    with pytest.raises(RunFileError, match="is a directory"):
        training_session(preset_config("1d"), tmp_path)
    with pytest.raises(RunFileError, match="does not exist"):
        training_session(preset_config("1d"), tmp_path / "nope" / "run.h5")


def _plain_h5(path, **attrs):
    with h5py.File(path, "w") as f:
        f.attrs.update(attrs)
        f.create_group("config").attrs["json"] = preset_config("1d").model_dump_json()
        f.create_group("data")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: p.write_bytes(b""), "is empty"),
        (lambda p: p.write_text("step,loss\n1,0.5\n"), "not an HDF5 file"),
        (lambda p: _plain_h5(p), "not a GKN Studio run"),
        (lambda p: _plain_h5(p, format="gkn-studio-run", format_version=99, kind="gkn"), "format version 99"),
        (lambda p: _plain_h5(p, format="gkn-studio-run", format_version=1, kind="vae"), "unknown run kind"),
        (
            lambda p: _plain_h5(p, format="gkn-studio-run", format_version="one", kind="gkn"),
            "no valid format",
        ),
    ],
)
def test_files_that_are_not_runs_raise_one_clear_error(tmp_path, make, message):
    path = tmp_path / "bad.h5"
    make(path)
    with pytest.raises(RunFileError, match=message) as info:
        open_run(path)
    assert "\n" not in str(info.value)


def test_truncated_and_corrupted_runs_raise_one_clear_error(trained_run, tmp_path):
    path, _, _ = trained_run
    data = path.read_bytes()
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(RunFileError, match="damaged or truncated"):
        open_run(truncated)
    bad_config = tmp_path / "bad_config.h5"
    shutil.copy(path, bad_config)
    with h5py.File(bad_config, "r+") as f:
        f["config"].attrs["json"] = '{"model": {"layers": -3}}'
    with pytest.raises(RunFileError, match=r"invalid config: model\.layers"):
        open_run(bad_config)


def test_missing_checkpoint_and_sampling_are_clear(tmp_path):
    path = tmp_path / "empty.h5"
    _plain_h5(path, format="gkn-studio-run", format_version=1, kind="gkn")
    with h5py.File(path, "r+") as f:
        f["data"].attrs.update(low=0.0, high=1.0, dim=1, n=2)
    with open_run(path) as run:
        with pytest.raises(RunFileError, match="no trained weights yet"):
            run.load_model()
        with pytest.raises(RunFileError, match="holds no sampling yet"):
            run.sampling()
