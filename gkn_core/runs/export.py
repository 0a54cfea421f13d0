"""Writing arrays of a run file in formats other tools read: CSV, NPZ and HDF5 (any kind)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Literal

import h5py
import numpy as np

from gkn_core.errors import GKNError

ExportWhat = Literal["chains", "samples", "metrics"]
ExportFormat = Literal["csv", "npz", "h5"]


def check_output_path(path: Path, overwrite: bool) -> None:
    if path.is_dir():
        raise GKNError(f"{path} is a directory; give a file name to write")
    if path.exists() and not overwrite:
        raise GKNError(f"{path} already exists (pass --overwrite to replace it)")
    if not path.parent.exists():
        raise GKNError(f"cannot write {path}: folder {path.parent} does not exist")


def write_csv(path: Path, what: ExportWhat, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle)
        if what == "metrics":
            names = list(arrays)
            out.writerow(names)
            out.writerows(zip(*(arrays[n].tolist() for n in names), strict=True))
        elif what == "chains":
            chains = arrays["chains"]  # (n_chains, steps + 1, d): one row per chain and step
            n_chains, n_steps, dim = chains.shape
            out.writerow(["chain", "step", *(f"x{i}" for i in range(dim))])
            chain_index = np.repeat(np.arange(n_chains), n_steps)
            step_index = np.tile(np.arange(n_steps), n_chains)
            flat = chains.reshape(-1, dim)
            for c, s, row in zip(chain_index, step_index, flat, strict=True):
                out.writerow([int(c), int(s), *(f"{v:.7g}" for v in row)])
        else:
            samples = arrays["samples"]
            out.writerow([f"x{i}" for i in range(samples.shape[1])])
            out.writerows(samples.tolist())


def write_arrays(out: Path, what: str, fmt: str, arrays: dict[str, np.ndarray], source: Path) -> None:
    """Write named arrays as csv (`write_csv`: chains, samples or metrics), npz or h5."""
    try:
        if fmt == "csv":
            write_csv(out, what, arrays)  # type: ignore[arg-type]
        elif fmt == "npz":
            with open(out, "wb") as handle:
                np.savez_compressed(handle, **arrays)
        else:
            with h5py.File(out, "w") as file:
                file.attrs.update(source_run=str(source), what=what)
                for name, values in arrays.items():
                    file.create_dataset(name, data=values, compression="gzip")
    except OSError as exc:
        raise GKNError(f"cannot write {out}: {exc.strerror or exc}") from None


def described(shapes: dict[str, tuple[int, ...]]) -> str:
    """'chains 16x31x1, ...' for the `wrote ...` line; the metrics that come with chains are left out."""
    return ", ".join(
        f"{k} {'x'.join(map(str, v))}" for k, v in shapes.items() if not k.startswith("metrics_")
    )
