"""Image datasets: sklearn's 8x8 digits, the committed MNIST and Fashion-MNIST subsets (the latter
also area-averaged to 8x8, `fashion8`), and user image files.

Images become flat float32 rows (n, h*w) in the requested value range, with `image_shape` kept so
they can be drawn again.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from pathlib import Path

import numpy as np

from gkn_core.data.dataset import Dataset, _from_unit, range_bounds
from gkn_core.data.idx import read_idx
from gkn_core.errors import DataError

MNIST_SUBSET_PATH = Path(__file__).resolve().parents[2] / "assets" / "mnist_subset.npz"
FASHION_SUBSET_PATH = Path(__file__).resolve().parents[2] / "assets" / "fashion_subset.npz"
MNIST_SHAPE = (28, 28)
NAMED_DATASETS: tuple[str, ...] = ("digits8", "mnist", "fashion", "fashion8")

# The models are dense MLPs over every pixel: a side beyond 256 (65,536 inputs) is not a dataset
# this product can train on, and a side of 1 means the array is not an image stack at all.
MIN_IMAGE_SIDE = 2
MAX_IMAGE_SIDE = 256

# Everything numpy/zipfile raise for an unreadable or corrupt .npz (NotImplementedError: an
# unsupported zip compression method; RuntimeError: an encrypted member).
_NPZ_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    RuntimeError,
)


def _check_limit(limit: int | None) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int | np.integer) or limit < 1:
        raise DataError(f"limit must be a positive integer or None, got {limit!r}")
    return int(limit)


def _image_shape(images: np.ndarray, where: str) -> tuple[int, int]:
    """The (h, w) of an (n, h, w) stack or of an (n, side*side) table of square images."""
    if images.ndim == 3:
        shape = (int(images.shape[1]), int(images.shape[2]))
    elif images.ndim == 2:
        side = math.isqrt(int(images.shape[1]))
        if side * side != images.shape[1]:
            raise DataError(
                f"{where}: flat images have {images.shape[1]} values each, which is not a "
                "square image; store them as (n, height, width)"
            )
        shape = (side, side)
    else:
        raise DataError(f"{where}: images must be an (n, height, width) array, got shape {images.shape}")
    if images.shape[0] == 0:
        raise DataError(f"{where}: holds no images")
    if not (min(shape) >= MIN_IMAGE_SIDE and max(shape) <= MAX_IMAGE_SIDE):
        raise DataError(
            f"{where}: images of size {shape[0]}x{shape[1]} are not supported (each side must "
            f"be {MIN_IMAGE_SIDE} to {MAX_IMAGE_SIDE} pixels)"
        )
    return shape


def _to_unit(images: np.ndarray, where: str) -> np.ndarray:
    """Flatten images to (n, h*w) float64 in [0, 1]: uint8 is divided by 255, floats checked."""
    flat = images.reshape(images.shape[0], -1)
    if images.dtype == np.uint8:
        return flat / 255.0
    flat = flat.astype(np.float64)
    bad = ~np.isfinite(flat)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise DataError(f"{where}: image {i} has a non-finite value {flat[i, j]} (pixel {j})")
    outside = (flat < 0.0) | (flat > 1.0)
    if outside.any():
        i, j = (int(k) for k in np.argwhere(outside)[0])
        raise DataError(
            f"{where}: image {i} has value {flat[i, j]:g} (pixel {j}) outside [0, 1]; float "
            "images must already be scaled to [0, 1]"
        )
    return flat


def _check_labels(labels: np.ndarray, n_images: int, where: str) -> np.ndarray:
    if labels.dtype.kind not in "iu":
        raise DataError(f"{where}: labels have dtype {labels.dtype}; expected integers")
    if labels.ndim != 1:
        raise DataError(f"{where}: labels must be one-dimensional, got shape {labels.shape}")
    if labels.shape[0] != n_images:
        raise DataError(f"{where}: {labels.shape[0]} labels for {n_images} images")
    return labels


def _build(
    name: str,
    images: np.ndarray,
    labels: np.ndarray | None,
    value_range: str,
    limit: int | None,
    where: str,
) -> Dataset:
    # The dtype first: for a file of the wrong kind it is the more telling complaint.
    if images.dtype != np.uint8 and images.dtype.kind != "f":
        raise DataError(
            f"{where}: images have dtype {images.dtype}; expected uint8 (0..255) or floats in [0, 1]"
        )
    shape = _image_shape(images, where)
    if labels is not None:
        labels = _check_labels(labels, images.shape[0], where)
    if limit is not None:
        # Cut before converting: a prefix of a big file should cost only the prefix.
        images = images[:limit]
        labels = None if labels is None else labels[:limit]
    return _from_unit(name, _to_unit(images, where), value_range, shape, labels)


def _file_head(path: Path) -> bytes:
    """The first bytes of a readable, non-empty regular file, or a DataError saying why not."""
    if not path.exists():
        raise DataError(f"image file not found: {path}")
    if path.is_dir():
        raise DataError(f"image file is a directory, not a file: {path}")
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise DataError(f"cannot read image file {path}: {exc.strerror or exc}") from exc
    if not head:
        raise DataError(f"image file is empty: {path}")
    return head


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    where = f"npz file {path}"
    try:
        loaded = np.load(path, allow_pickle=False)  # never unpickle: a file must not run code
    except _NPZ_ERRORS as exc:
        raise DataError(f"{where} is not a readable .npz archive ({exc})") from exc
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise DataError(f"{where} holds a single array, not an .npz archive with 'images'")
    with loaded:
        if "images" not in loaded.files:
            found = ", ".join(loaded.files) or "nothing"
            raise DataError(f"{where} has no 'images' array (found: {found})")
        try:
            images = loaded["images"]
            labels = loaded["labels"] if "labels" in loaded.files else None
        except _NPZ_ERRORS as exc:
            raise DataError(f"{where} is corrupt or holds non-numeric data ({exc})") from exc
    return images, labels


def labels_file_for(images_path: str | Path) -> Path | None:
    """The labels IDX file beside an images IDX file named like the MNIST originals, if any.

    train-images-idx3-ubyte[.gz] -> train-labels-idx1-ubyte[.gz] (either compression);
    the same rule covers t10k-*, Fashion-MNIST and the "train-images.idx3-ubyte" spelling.
    """
    p = Path(images_path)
    base = p.name.removesuffix(".gz")
    if "images" not in base:
        return None
    wanted = base.replace("images", "labels").replace("idx3", "idx1")
    for candidate in (wanted, wanted + ".gz"):
        q = p.with_name(candidate)
        if q.is_file():
            return q
    return None


def _read_idx_images(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    images = read_idx(path)
    labels_path = labels_file_for(path)
    if labels_path is None:
        return images, None
    labels = read_idx(labels_path)
    if labels.ndim != 1:
        raise DataError(f"labels file {labels_path} has shape {labels.shape}; expected one label per image")
    if labels.shape[0] != images.shape[0]:
        raise DataError(
            f"labels file {labels_path} has {labels.shape[0]} labels for the "
            f"{images.shape[0]} images in {path.name}"
        )
    return images, labels


def load_image_file(path: str | Path, value_range: str = "symmetric", limit: int | None = None) -> Dataset:
    """Load images from an .npz archive ('images', optional 'labels') or an IDX file.

    IDX files may be gzip-compressed; labels are read from a sibling file named like the
    MNIST originals. uint8 pixels are divided by 255; float pixels must lie in [0, 1].
    """
    range_bounds(value_range)
    limit = _check_limit(limit)
    p = Path(path)
    head = _file_head(p)
    name = Path(p.name.removesuffix(".gz")).stem or p.name
    # Decide by content, not name: IDX starts with two zero bytes (or gzip's 1f 8b), zip with PK.
    if head.startswith(b"PK"):
        images, labels = _read_npz(p)
        where = f"npz file {p}"
    elif p.suffix.lower() == ".npz":
        raise DataError(f"{p} is named .npz but is not a zip-based .npz archive")
    elif head[:2] in (b"\x00\x00", b"\x1f\x8b"):
        images, labels = _read_idx_images(p)
        where = f"IDX file {p}"
    else:
        raise DataError(f"{p} is neither an .npz archive nor an IDX file (first bytes {head.hex(' ')})")
    return _build(name, images, labels, value_range, limit, where)


def digits8(value_range: str = "unit") -> Dataset:
    """sklearn's 1797 handwritten 8x8 digits (pixel values 0..16), with labels 0..9."""
    range_bounds(value_range)
    # Imported here: sklearn is slow to import and only this loader needs it.
    from sklearn.datasets import load_digits

    bunch = load_digits()
    unit = np.asarray(bunch.data, dtype=np.float64) / 16.0
    labels = np.asarray(bunch.target, dtype=np.int64)
    return _from_unit("digits8", unit, value_range, (8, 8), labels)


def _subset_asset(path: Path, name: str, rebuild: str) -> tuple[np.ndarray, np.ndarray, str]:
    """The uint8 (n, 28, 28) images and labels of a committed subset archive, checked."""
    if not path.is_file():
        raise DataError(f"the {name} subset asset is missing: {path} (rebuild it with: {rebuild})")
    images, labels = _read_npz(path)
    where = f"{name} asset {path}"
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != MNIST_SHAPE:
        raise DataError(
            f"{where} holds {images.dtype} images of shape {images.shape}; expected uint8 (n, 28, 28)"
        )
    if labels is None:
        raise DataError(f"{where} has no 'labels' array")
    return images, labels, where


def mnist_subset(value_range: str = "symmetric", limit: int | None = None) -> Dataset:
    """The committed MNIST subset (28x28, labelled), stored shuffled so a prefix has all digits."""
    range_bounds(value_range)
    limit = _check_limit(limit)
    images, labels, where = _subset_asset(MNIST_SUBSET_PATH, "MNIST", "python scripts/build_mnist_subset.py")
    return _build("mnist", images, labels, value_range, limit, where)


def area_average(images: np.ndarray, side: int) -> np.ndarray:
    """(n, H, W) images averaged over equal blocks down to (n, side, side); H and W divisible by side
    after cropping the same number of rows/columns from each border (28 -> 8: crop 2, blocks of 3)."""
    n, h, w = images.shape
    block = min(h, w) // side
    top, left = (h - block * side) // 2, (w - block * side) // 2
    cropped = np.asarray(images, dtype=np.float64)[:, top : top + block * side, left : left + block * side]
    return cropped.reshape(n, side, block, side, block).mean(axis=(2, 4))


def fashion_subset(value_range: str = "symmetric", limit: int | None = None, side: int = 28) -> Dataset:
    """The committed Fashion-MNIST subset (28x28, labelled, balanced, shuffled); with side=8 the same
    images area-averaged to 8x8 ("fashion8", the CPU-sized analogue of sklearn's 8x8 digits)."""
    range_bounds(value_range)
    limit = _check_limit(limit)
    images, labels, where = _subset_asset(
        FASHION_SUBSET_PATH, "Fashion-MNIST", "python scripts/build_fashion_subset.py"
    )
    if side == 28:
        return _build("fashion", images, labels, value_range, limit, where)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    small = area_average(images, side) / 255.0
    return _from_unit(f"fashion{side}", small.reshape(len(small), -1), value_range, (side, side), labels)


def load_named_dataset(name: str, value_range: str, limit: int | None = None) -> Dataset:
    """Load a built-in image dataset by name: "digits8", "mnist", "fashion" or "fashion8"."""
    limit = _check_limit(limit)
    if name == "digits8":
        data = digits8(value_range)
        if limit is None or limit >= data.n:
            return data
        labels = None if data.labels is None else data.labels[:limit]
        return Dataset(data.name, data.x[:limit], data.low, data.high, data.image_shape, labels)
    if name == "mnist":
        return mnist_subset(value_range, limit)
    if name == "fashion":
        return fashion_subset(value_range, limit)
    if name == "fashion8":
        return fashion_subset(value_range, limit, side=8)
    known = ", ".join(NAMED_DATASETS)
    raise DataError(f"unknown dataset {name!r}; known datasets: {known}")
