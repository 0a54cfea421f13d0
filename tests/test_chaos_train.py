"""Contrastive Hebbian training, chaos run files and the chaos CLI, on small real runs."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from gkn_core.chaos.analysis import network_spectrum
from gkn_core.chaos.config import chaos_preset_config
from gkn_core.chaos.models import sample_visible
from gkn_core.chaos.sessions import chaos_sampling_session, chaos_training_session
from gkn_core.chaos.train import ChaosTrainingJob, load_chaos_dataset, seeded_chaos_model
from gkn_core.class_score import class_score
from gkn_core.runs.reader import open_run

CPU = torch.device("cpu")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """The digits8 preset cut to 500 steps (about 17 s on one core), recorded to a run file."""
    path = tmp_path_factory.mktemp("chaos") / "digits8.h5"
    config = chaos_preset_config(
        "digits8",
        {
            "device": "cpu",
            "train": {"steps": 500, "metrics_every": 250, "lyapunov_every": 500, "sample_every": 250},
        },
    )
    _job, snapshots = chaos_training_session(config, path, flush_interval=0.5)
    for _ in snapshots:
        pass
    return path


def test_scores_and_digit_score_improve_over_a_short_digits8_training(trained_run):
    with open_run(trained_run) as run:
        config = run.config
        scores = {k: v[()] for k, v in run.file["train/scores"].items()}
        images = run.file["train/samples/images"][()]
    assert list(scores["step"]) == [1, 250, 500]
    # measured: E2 0.0196 -> 0.0010, Es 0.040 -> 0.007, AAI 1.00 -> 0.88
    assert scores["E2"][-1] < 0.2 * scores["E2"][0]
    assert scores["Es"][-1] < 0.3 * scores["Es"][0]
    assert scores["AAI"][-1] < scores["AAI"][0] - 0.05
    assert abs(scores["ER"][-1]) < abs(scores["ER"][0])
    dataset = load_chaos_dataset(config.data)
    before_model = seeded_chaos_model(config, dataset.dim, CPU)
    gen = torch.Generator().manual_seed(0)
    before = class_score(sample_visible(before_model, 400, 100, gen).numpy(), "digits8", "symmetric")
    with open_run(trained_run) as run:
        from gkn_core.chaos.runfile import load_chaos_model

        model, step = load_chaos_model(run)
    assert step == 500
    after = class_score(sample_visible(model, 400, 100, gen).numpy(), "digits8", "symmetric")
    # measured: 0.00 -> 0.4 of samples are confident digits
    assert before.fraction < 0.05
    assert after.fraction > 0.25
    assert after.entropy > 1.8  # many digit classes, not one mode
    assert images.shape == (3, 48, 64) and np.abs(images).max() <= 1


def test_training_lowers_the_largest_exponent():
    """g = 2 (clearly chaotic at this size): measured +0.065 per tau before, about +0.01 after 300 steps."""
    config = chaos_preset_config(
        "digits8",
        {
            "device": "cpu",
            "model": {"g": 2.0},
            "train": {"steps": 300, "lyapunov_every": None, "sample_every": None, "metrics_every": 10**6},
        },
    )
    job = ChaosTrainingJob(config, load_chaos_dataset(config.data), CPU)

    def largest() -> float:
        return float(
            np.mean([network_spectrum(job.model, 1, 400, 100, 8, seed=s).mean(0)[0].item() for s in (0, 1)])
        )

    before = largest()
    for _ in job:
        pass
    after = largest()
    assert before > 0.03
    assert after < before - 0.02


def test_run_file_is_plain_hdf5_with_the_chaos_layout(trained_run):
    with h5py.File(trained_run, "r") as f:
        attrs = dict(f.attrs)
        assert attrs["format"] == "gkn-studio-run" and attrs["kind"] == "chaos"
        assert f["status"][0] == b"completed" and f["failure_reason"][0] == b""
        assert attrs["format_version"] == 2
        for key in ("format_version", "created", "software_version", "seed", "device"):
            assert key in attrs
        assert json.loads(f["config"].attrs["json"])["model"]["arch"] == "restricted2"
        assert f["train/metrics/step"][-1] == 500 and len(f["train/metrics/gap"]) == 500
        assert list(f["train/lyapunov/step"][()]) == [1, 500]
        assert list(f["checkpoints/step"][()]) == [500]  # stacks: one row per checkpoint
        weights = f["checkpoints/weights"]
        assert weights["A1"].shape == (1, 64, 100) and weights["Wt1"].shape == (1, 100, 64)
        assert float(np.abs(weights["A1"][0]).max()) > 0  # learned
        for name in ("train/metrics/step", "train/samples/images"):
            assert f[name].chunks is not None and f[name].compression is None


def test_sampling_appends_samples_and_trajectories(trained_run, tmp_path):
    copy = tmp_path / "copy.h5"
    copy.write_bytes(trained_run.read_bytes())
    _job, snapshots = chaos_sampling_session(copy, {"n": 64, "record_units": 5, "record_chains": 3})
    for _ in snapshots:
        pass
    with h5py.File(copy, "r") as f:
        group = f["sampling/0000"]
        assert group["status"][0] == b"completed"
        assert group["samples"].shape == (64, 64)
        assert group["trajectories"].shape == (3, 101, 10)  # start + 100 steps; 5 visible + 5 hidden units
        assert list(group["units"][()]) == [0, 1, 2, 3, 4, 64, 65, 66, 67, 68]
        # the last recorded visible state is the sample: phi(v(T))
        assert np.allclose(np.tanh(group["trajectories"][:, -1, :5]), group["samples"][:3, :5], atol=1e-6)


def test_cli_trains_samples_and_measures_exponents(gkn, tmp_path):
    out = tmp_path / "c.h5"
    done = gkn("train", "chaos", "-o", str(out), "--steps", "20", "--nh", "30", "--metrics-every", "10", "-q")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"completed: {out} (20 steps, cpu") and "digit score" in done.stdout
    done = gkn("sample", str(out), "--chains", "10", "--steps", "30", "-q")
    assert done.returncode == 0, done.stderr
    assert "10 samples after 30 steps" in done.stdout
    done = gkn("lyapunov", str(out), "--exponents", "3", "--steps", "50")
    assert done.returncode == 0, done.stderr
    assert "at step 20" in done.stdout
    done = gkn("lyapunov", "--untrained", "--nv", "20", "--nh", "30", "--g", "0.5,3", "--steps", "100")
    assert done.returncode == 0, done.stderr
    assert "g=0.5" in done.stdout and "g=3" in done.stdout
    done = gkn("lyapunov", str(out), "--exponents", "2", "--steps", "40", "--local-window", "10")
    assert done.returncode == 0, done.stderr
    assert "over 4 windows" in done.stdout
    done = gkn("runs", "show", str(out))
    assert done.returncode == 0, done.stderr
    assert "restricted2 Nv=64 Nh=30" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--g", "-1"], "gkn: error: model.g: must be greater than or equal to 0 (got -1.0)\n"),
        (
            ["--data", "nope"],
            "gkn: error: --data: 'nope' is neither a known data set "
            "(digits8, mnist, fashion, fashion8) nor a file\n",
        ),
        (["--arch", "deep"], None),
    ],
)
def test_cli_bad_values_are_one_line_and_exit_2(gkn, tmp_path, args, message):
    done = gkn("train", "chaos", "-o", str(tmp_path / "x.h5"), *args)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    if message is not None:
        assert done.stderr == message
    assert not (tmp_path / "x.h5").exists()


def test_sampling_options_that_do_not_apply_are_refused(gkn, trained_run):
    done = gkn("sample", str(trained_run), "--noise", "0.1")
    assert done.returncode == 2
    assert done.stderr == "gkn: error: --noise does not apply to a chaos run (its dynamics are noise-free)\n"


def test_cli_trains_on_an_image_file_a_user_has(gkn, tmp_path):
    data = load_chaos_dataset(chaos_preset_config("digits8").data)
    images = np.round((data.x[:300].reshape(-1, 8, 8) + 1) * 127.5).astype(np.uint8)
    path = tmp_path / "mine.npz"
    np.savez(path, images=images)
    out = tmp_path / "file.h5"
    done = gkn("train", "chaos", "-o", str(out), "--data", str(path), "--steps", "3", "--M", "50", "-q")
    assert done.returncode == 0, done.stderr
    with open_run(out) as run:
        assert run.config.data.source == "file" and run.config.data.path == str(path.resolve())
        assert run.file["data"].attrs["n"] == 300 and run.image_shape == (8, 8)


def test_cli_exports_trajectories_and_samples_of_a_chaos_run(gkn, trained_run, tmp_path):
    copy = tmp_path / "copy.h5"
    copy.write_bytes(trained_run.read_bytes())
    assert gkn("sample", str(copy), "--chains", "12", "--steps", "20", "-q").returncode == 0
    done = gkn("export", str(copy), "-o", str(tmp_path / "t.npz"), "--format", "npz", "--what", "chains")
    assert done.returncode == 0, done.stderr
    with np.load(tmp_path / "t.npz") as archive:
        assert archive["chains"].shape == (8, 21, 32) and len(archive["units"]) == 32
        assert list(archive["metrics_step"]) == list(range(1, 21))
    done = gkn("export", str(copy), "-o", str(tmp_path / "s.csv"), "--what", "samples")
    assert done.returncode == 0, done.stderr
    rows = (tmp_path / "s.csv").read_text().splitlines()
    assert len(rows) == 13 and rows[0].startswith("x0,x1,")
