"""Export parts of a GKN run file: chains, samples or training metrics (`gkn export`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from gkn_core.errors import GKNError
from gkn_core.runs.export import check_output_path, write_arrays
from gkn_core.runs.h5util import read_checked
from gkn_core.runs.reader import Run

ExportWhat = Literal["chains", "samples", "metrics"]
ExportFormat = Literal["csv", "npz", "h5"]


def export_arrays(run: Run, what: ExportWhat, sampling: int | None) -> dict[str, np.ndarray]:
    """The arrays an export writes, by name."""
    if what == "metrics":
        metrics = run.train_metrics()
        if not metrics:
            raise GKNError(f"{run.path} holds no training metrics")
        return metrics
    record = run.sampling(sampling, read_chains=what == "chains")  # samples: the last generation only
    if what == "chains":
        return {"chains": record.chains, **{f"metrics_{k}": v for k, v in record.metrics.items()}}
    if record.samples is not None:
        return {"samples": record.samples}
    last = np.s_[:, record.generations - 1]
    return {"samples": read_checked(run.path, run.sampling_chains(record.name), last)}


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
    write_arrays(out, what, fmt, arrays, run.path)
    return {name: values.shape for name, values in arrays.items()}
