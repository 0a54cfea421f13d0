"""The `gkn` command: the issue's commands on a new user's first try, and one-line errors (exit 2)."""

import csv
import subprocess
import sys

import h5py
import numpy as np
import pytest

from gkn_core.cli import main


def gkn(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gkn_core.cli", *args], capture_output=True, text=True, timeout=300
    )


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return info.value.code, out, err


@pytest.fixture(scope="module")
def trained_1d(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "run.h5"
    result = gkn("train", "gkn", "--preset", "1d", "--steps", "400", "--seed", "3", "--out", str(path))
    assert result.returncode == 0, result.stderr
    assert "completed" in result.stdout
    return path


def test_train_sample_show_export_end_to_end(trained_1d, tmp_path):
    result = gkn(
        "sample", str(trained_1d), "--chains", "64", "--steps", "200", "--noise", "0.01", "--burn-in", "20"
    )
    assert result.returncode == 0, result.stderr
    assert "64 chains x 200 steps" in result.stdout
    with h5py.File(trained_1d, "r") as f:  # plain h5py, as a user would
        assert f.attrs["seed"] == 3 and f["status"][0].decode() == "completed"
        assert f["train/metrics/step"][-1] == 400
        chains = f["sampling/0000/chains"][:]
        assert chains.shape == (64, 201, 1)
        assert f["sampling/0000/status"][0].decode() == "completed"
    shown = gkn("runs", "show", str(trained_1d))
    assert shown.returncode == 0 and "L=7 H=10 relu" in shown.stdout and "sampling 0000" in shown.stdout

    out_csv = tmp_path / "chains.csv"
    assert (
        gkn(
            "export", str(trained_1d), "--what", "chains", "--format", "csv", "--out", str(out_csv)
        ).returncode
        == 0
    )
    with open(out_csv) as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["chain", "step", "x0"] and len(rows) == 1 + 64 * 201
    assert float(rows[1 + 201 + 5][2]) == pytest.approx(chains[1, 5, 0], abs=1e-6)

    out_npz = tmp_path / "chains.npz"
    assert (
        gkn(
            "export", str(trained_1d), "--what", "chains", "--format", "npz", "--out", str(out_npz)
        ).returncode
        == 0
    )
    with np.load(out_npz) as exported:
        np.testing.assert_array_equal(exported["chains"], chains)


def test_train_options_reach_the_run(capsys, tmp_path):
    path = tmp_path / "opts.h5"
    code, _, err = run_main(
        capsys,
        "train",
        "gkn",
        "--preset",
        "2d",
        "--layers",
        "3",
        "--hidden",
        "8",
        "--steps",
        "20",
        "--lr",
        "0.01",
        "--seed",
        "5",
        "--device",
        "cpu",
        "--activation",
        "tanh",
        "--quiet",
        "--out",
        str(path),
    )
    assert code == 0, err
    with h5py.File(path, "r") as f:
        model = f["config/model"].attrs
        assert (model["layers"], model["hidden"], model["activation"]) == (3, 8, "tanh")
        assert f["config/train"].attrs["lr"] == 0.01 and f.attrs["seed"] == 5
        assert f["train/metrics/step"].shape == (20,)


def test_user_points_and_generators(capsys, tmp_path):
    path = tmp_path / "pts.h5"
    code, _, err = run_main(
        capsys,
        "train",
        "gkn",
        "--points",
        "0.1 0.9; 0.5 0.5; 0.9 0.1",
        "--layers",
        "4",
        "--hidden",
        "16",
        "--steps",
        "5",
        "-q",
        "--out",
        str(path),
    )
    assert code == 0, err
    with h5py.File(path, "r") as f:
        np.testing.assert_allclose(f["data/x"][:], [[0.1, 0.9], [0.5, 0.5], [0.9, 0.1]], rtol=1e-6)
    path = tmp_path / "ring.h5"
    code, _, err = run_main(
        capsys,
        "train",
        "gkn",
        "--data",
        "ring",
        "--n",
        "50",
        "--dim",
        "2",
        "--steps",
        "5",
        "-q",
        "--out",
        str(path),
    )
    assert code == 0, err
    with h5py.File(path, "r") as f:
        assert f["data/x"].shape == (50, 2)


def test_train_on_an_idx_file_a_user_has(capsys, tmp_path):
    from gkn_core.data.idx import write_idx

    images = np.random.default_rng(0).integers(0, 256, size=(30, 28, 28), dtype=np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    path = tmp_path / "fashion.h5"
    code, _, err = run_main(
        capsys,
        "train",
        "gkn",
        "--preset",
        "mnist",
        "--data",
        str(tmp_path / "train-images-idx3-ubyte.gz"),
        "--layers",
        "3",
        "--hidden",
        "16",
        "--steps",
        "3",
        "-q",
        "--out",
        str(path),
    )
    assert code == 0, err
    with h5py.File(path, "r") as f:
        assert list(f["data"].attrs["image_shape"]) == [28, 28] and f["data"].attrs["n"] == 30


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["train", "gkn", "--layers", "0", "--out", "{tmp}/a.h5"],
            "model.layers: must be greater than or equal to 1",
        ),
        (["train", "gkn", "--hidden", "-4", "--out", "{tmp}/a.h5"], "model.hidden"),
        (["train", "gkn", "--lr", "nan", "--out", "{tmp}/a.h5"], "train.lr: must be a finite number"),
        (["train", "gkn", "--lr", "0", "--out", "{tmp}/a.h5"], "train.lr: must be greater than 0"),
        (["train", "gkn", "--steps", "abc", "--out", "{tmp}/a.h5"], "Invalid value for '--steps'"),
        (["train", "gkn", "--activation", "gelu", "--out", "{tmp}/a.h5"], "Invalid value for '--activation'"),
        (["train", "gkn", "--preset", "nope", "--out", "{tmp}/a.h5"], "unknown preset 'nope'"),
        (["train", "gkn", "--device", "cuda:7", "--out", "{tmp}/a.h5"], "device"),
        (["train", "gkn", "--points", "a,b", "--out", "{tmp}/a.h5"], "--points: cannot read"),
        (["train", "gkn", "--points", "0.2,1.7", "--out", "{tmp}/a.h5"], "outside the unit range"),
        (["train", "gkn", "--data", "cifar", "--out", "{tmp}/a.h5"], "neither a known data set"),
        (["train", "gkn", "--data", "{tmp}/junk.bin", "--out", "{tmp}/a.h5"], "junk.bin"),
        (["train", "gkn", "--out", "{tmp}/missing/a.h5"], "does not exist"),
        (["train", "gkn", "--out", "{tmp}"], "is a directory"),
        (["train", "gkn"], "Missing option '--out'"),
        (["sample", "{tmp}/none.h5"], "no such file"),
        (["sample", "{tmp}/junk.bin"], "not an HDF5 file"),
        (["sample", "{tmp}/run.h5", "--noise", "-1"], "sample.noise: must be greater than or equal to 0"),
        (["sample", "{tmp}/run.h5", "--burn-in", "50", "--steps", "10"], "burn_in (50) must be smaller"),
        (["sample", "{tmp}/run.h5", "--chains", "0"], "sample.chains"),
        (["runs", "show", "{tmp}/junk.bin"], "not an HDF5 file"),
        (["export", "{tmp}/run.h5", "--what", "chains", "--out", "{tmp}/c.csv"], "holds no sampling yet"),
        (["export", "{tmp}/run.h5", "--what", "everything", "--out", "{tmp}/c.csv"], "--what: 'everything'"),
        (
            ["export", "{tmp}/run.h5", "--what", "metrics", "--format", "xls", "--out", "{tmp}/c"],
            "--format: 'xls'",
        ),
        (["export", "{tmp}/run.h5", "--what", "metrics", "--out", "{tmp}/run.h5"], "already exists"),
        (["frobnicate"], "No such command"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(capsys, tmp_path, args, message):
    (tmp_path / "junk.bin").write_bytes(b"\x00\x01garbage" * 10)
    code, _, err = run_main(capsys, "train", "gkn", "--steps", "3", "-q", "--out", str(tmp_path / "run.h5"))
    assert code == 0, err
    code, out, err = run_main(capsys, *(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gkn: error"), err
    assert message in lines[0]
    assert "Traceback" not in err + out


def test_no_arguments_prints_help(capsys):
    code, out, _ = run_main(capsys)
    assert code == 0 and "train" in out and "sample" in out
