"""Export parts of a run file to formats other tools read: CSV, NPZ and HDF5."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Literal

import h5py
import numpy as np

from gkn_core.errors import GKNError
from gkn_core.runs.reader import Run

ExportWhat = Literal["chains", "samples", "metrics"]
ExportFormat = Literal["csv", "npz", "h5"]


def check_output_path(path: Path, overwrite: bool) -> None:
    if path.is_dir():
        raise GKNError(f"{path} is a directory; give a file name to write")
    if path.exists() and not overwrite:
        raise GKNError(f"{path} already exists (pass --overwrite to replace it)")
    if not path.parent.exists():
        raise GKNError(f"cannot write {path}: folder {path.parent} does not exist")


def export_arrays(run: Run, what: ExportWhat, sampling: int | None) -> dict[str, np.ndarray]:
    """The arrays an export writes, by name."""
    if what == "metrics":
        metrics = run.train_metrics()
        if not metrics:
            raise GKNError(f"{run.path} holds no training metrics")
        return metrics
    record = run.sampling(sampling)
    if what == "chains":
        return {"chains": record.chains, **{f"metrics_{k}": v for k, v in record.metrics.items()}}
    samples = record.samples if record.samples is not None else record.chains[:, -1]
    return {"samples": samples}


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


def export_run(
    run: Run,
    what: ExportWhat,
    fmt: ExportFormat,
    out: Path,
    sampling: int | None = None,
    overwrite: bool = False,
) -> dict[str, tuple[int, ...]]:
    """Write the export; returns the shape of each array written."""
    check_output_path(out, overwrite)
    arrays = export_arrays(run, what, sampling)
    try:
        if fmt == "csv":
            write_csv(out, what, arrays)
        elif fmt == "npz":
            with open(out, "wb") as handle:
                np.savez_compressed(handle, **arrays)
        else:
            with h5py.File(out, "w") as file:
                file.attrs.update(source_run=str(run.path), what=what)
                for name, values in arrays.items():
                    file.create_dataset(name, data=values, compression="gzip")
    except OSError as exc:
        raise GKNError(f"cannot write {out}: {exc.strerror or exc}") from None
    return {name: values.shape for name, values in arrays.items()}
