"""The shipped Fashion-MNIST subset, its 8x8 version, and `--data fashion` for both families."""

from __future__ import annotations

import math

import h5py
import numpy as np
import pytest

from gkn_core.chaos.config import ChaosDataConfig, chaos_preset_config
from gkn_core.data import FASHION_SUBSET_PATH, NAMED_DATASETS, load_named_dataset
from gkn_core.data.images import area_average
from gkn_core.gkn.config import DataConfig
from gkn_core.runs.reader import open_run


def test_the_subset_asset_is_balanced_uint8_and_shuffled():
    with np.load(FASHION_SUBSET_PATH, allow_pickle=False) as archive:
        images, labels, source = archive["images"], archive["labels"], str(archive["source"][0])
    assert images.dtype == np.uint8 and images.shape == (10000, 28, 28)
    assert labels.dtype == np.uint8 and labels.shape == (10000,)
    assert np.bincount(labels, minlength=10).tolist() == [1000] * 10
    assert np.bincount(labels[:1000], minlength=10).min() >= 80  # any prefix mixes all ten (measured 83)
    assert "dataset-fashion-mnist" in source and "MIT" in source
    assert images.max() == 255 and images.min() == 0


@pytest.mark.parametrize(("value_range", "low"), [("unit", 0.0), ("symmetric", -1.0)])
def test_fashion_loads_like_mnist(value_range, low):
    data = load_named_dataset("fashion", value_range)
    assert data.name == "fashion" and data.image_shape == (28, 28)
    assert data.x.shape == (10000, 784) and data.x.dtype == np.float32
    assert data.x.min() == low and data.x.max() == 1.0
    assert np.bincount(data.labels).tolist() == [1000] * 10
    assert load_named_dataset("fashion", value_range, limit=100).n == 100
    assert {"fashion", "fashion8"} <= set(NAMED_DATASETS)


def test_fashion8_is_the_area_average_of_the_same_images():
    big = load_named_dataset("fashion", "unit", limit=50)
    small = load_named_dataset("fashion8", "unit", limit=50)
    assert small.name == "fashion8" and small.image_shape == (8, 8) and small.x.shape == (50, 64)
    np.testing.assert_array_equal(small.labels, big.labels)
    images = big.x.reshape(50, 28, 28).astype(np.float64)
    # 28 = 2 + 8 x 3 + 2: drop two border rows/columns on each side, average 3x3 blocks
    for i in (0, 17, 49):
        for r in range(8):
            for c in range(8):
                block = images[i, 2 + 3 * r : 5 + 3 * r, 2 + 3 * c : 5 + 3 * c]
                assert small.x[i].reshape(8, 8)[r, c] == pytest.approx(block.mean(), abs=1e-6)
    symmetric = load_named_dataset("fashion8", "symmetric", limit=50)
    np.testing.assert_allclose(symmetric.x, 2 * small.x - 1, atol=1e-6)
    assert area_average(np.ones((2, 28, 28)), 8).shape == (2, 8, 8)


def test_both_families_accept_the_fashion_data_sets():
    for source in ("fashion", "fashion8"):
        assert DataConfig(source=source, value_range="symmetric").is_image
        assert ChaosDataConfig(source=source).source == source
    assert chaos_preset_config("fashion8").data.source == "fashion8"
    paper = chaos_preset_config("paper-fashion")
    assert (paper.data.source, paper.model.Nh, paper.train.M) == ("fashion", 500, 500)


def test_cli_trains_both_families_on_fashion(gkn, tmp_path):
    gkn_run, chaos_run = tmp_path / "g.h5", tmp_path / "c.h5"
    done = gkn(
        "train", "gkn", "--preset", "digits8", "--data", "fashion8", "--steps", "5",
        "--limit", "300", "--out", str(gkn_run), "-q",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with open_run(gkn_run) as run:
        assert run.config.data.source == "fashion8" and run.image_shape == (8, 8)
    done = gkn(
        "train", "chaos", "--data", "fashion8", "--steps", "3", "--nh", "20", "--metrics-every", "1",
        "--limit", "300", "-o", str(chaos_run), "-q",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "item score" in done.stdout and "untrained" in done.stdout
    with h5py.File(chaos_run) as f:
        assert all(0.0 <= v <= 1.0 for v in f["train/scores/digit"][:])  # the item score, scored
    from app.chaos.training_state import ChaosTrainState  # Qt-free: what the chaos view labels

    with open_run(chaos_run) as run:
        assert ChaosTrainState.from_run(run).class_score_name == "item score"


def test_chaos_on_a_28x28_file_gets_no_class_score(gkn, tmp_path):
    path, out = tmp_path / "images.npz", tmp_path / "c.h5"
    rng = np.random.default_rng(0)
    np.savez(path, images=rng.integers(0, 256, (60, 28, 28), dtype=np.uint8))
    done = gkn(
        "train", "chaos", "--data", str(path), "--steps", "2", "--nh", "10", "--metrics-every", "1",
        "-o", str(out), "-q",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "no class score: data 'file' is neither MNIST nor Fashion-MNIST" in done.stdout
    assert "digit score" not in done.stdout
    with h5py.File(out) as f:
        assert all(math.isnan(v) for v in f["train/scores/digit"][:])
