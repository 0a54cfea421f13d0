"""Build assets/fashion_subset.npz from Debian's `dataset-fashion-mnist` (MIT, Zalando Research).

The package installs the four IDX files of Fashion-MNIST (Han Xiao, Kashif Rasul, Roland Vollgraf,
2017) under /usr/share/datasets/fashion-mnist. This script takes a balanced random subset of the
*training* files (the same number of images of each of the ten classes) into one compressed archive:

    images  uint8 (n, 28, 28)  the pixels as stored (0..255)
    labels  uint8 (n,)         the class, 0..9 (T-shirt/top ... Ankle boot)
    source  str   (1,)         where the data came from

stored in a random order (seed 0) so that any prefix mixes all ten classes.

Usage:
    apt-get install dataset-fashion-mnist
    python scripts/build_fashion_subset.py                    # reads the installed package
    python scripts/build_fashion_subset.py --idx-dir DIR      # train-{images,labels} IDX files in DIR
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

from gkn_core.data.idx import read_idx
from gkn_core.errors import DataError

PACKAGE = "dataset-fashion-mnist"
DEFAULT_IDX_DIR = Path("/usr/share/datasets/fashion-mnist")
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO_ROOT / "assets" / "fashion_subset.npz"
CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip


class BuildError(Exception):
    """The package is missing or its contents are not what this script expects."""


def package_version() -> str:
    """The installed version of the Debian package, or "unknown" when dpkg cannot say."""
    try:
        done = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", PACKAGE], capture_output=True, text=True, check=False
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "unknown"


def _find(idx_dir: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem):
        if (idx_dir / name).is_file():
            return idx_dir / name
    raise BuildError(f"missing {idx_dir / stem}[.gz] (apt-get install {PACKAGE}, or pass --idx-dir)")


def load_training_set(idx_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """The 60,000 training images (uint8 (n, 28, 28)) and labels (uint8 (n,)), checked."""
    images = read_idx(_find(idx_dir, "train-images-idx3-ubyte"))
    labels = read_idx(_find(idx_dir, "train-labels-idx1-ubyte"))
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise BuildError(f"training images are {images.dtype} {images.shape}; expected uint8 (n, 28, 28)")
    if labels.shape != (images.shape[0],) or labels.dtype != np.uint8 or labels.max() > 9:
        raise BuildError(f"training labels are {labels.dtype} {labels.shape}; expected uint8 0..9, one each")
    return images, labels


def balanced_subset(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Indices of `size` images, size/10 of each class drawn at random, in a random order."""
    if size % 10:
        raise BuildError(f"--size {size} is not a multiple of 10 (the subset is balanced)")
    per_class = size // 10
    rng = np.random.default_rng(seed)
    chosen = []
    for c in range(10):
        members = np.flatnonzero(labels == c)
        if len(members) < per_class:
            raise BuildError(f"class {c} has only {len(members)} training images, {per_class} wanted")
        chosen.append(rng.choice(members, per_class, replace=False))
    return rng.permutation(np.concatenate(chosen))


def build(idx_dir: Path, output: Path, size: int, seed: int) -> None:
    images, labels = load_training_set(idx_dir)
    order = balanced_subset(labels, size, seed)
    images, labels = images[order], labels[order]
    source = (
        f"Debian package {PACKAGE} {package_version()} (Zalando Research, MIT licence): "
        f"{size} of the Fashion-MNIST training images, balanced, seed {seed}"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(output, images=images, labels=labels, source=np.array([source]))

    counts = np.bincount(labels, minlength=10)
    print(f"wrote {output} ({output.stat().st_size / 1e6:.2f} MB)")
    print(f"source: {source}")
    print(f"images {images.dtype} {images.shape}, labels {labels.dtype} {labels.shape}")
    print("per class: " + ", ".join(f"{c} {CLASS_NAMES[c]}: {k}" for c, k in enumerate(counts)))
    prefix = np.bincount(labels[:1000], minlength=10)
    print("first 1000: " + ", ".join(f"{c}: {k}" for c, k in enumerate(prefix)))
    print(f"mean pixel (unit range): {images.mean() / 255.0:.4f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idx-dir", type=Path, default=DEFAULT_IDX_DIR, help="folder of the IDX files")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="archive to write")
    parser.add_argument("--size", type=int, default=10_000, help="images in the subset (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="sampling and shuffle seed (default 0)")
    args = parser.parse_args(argv)
    try:
        build(args.idx_dir, args.output, args.size, args.seed)
    except (BuildError, DataError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
