"""Every scalar series of any run, read through the run reader: for comparing runs and for one long table.

A run's scalars are its training series (gkn: loss, best loss; chaos: the correlation gap, the free
activity, the scores, the largest Lyapunov exponent), each as (step, wall time, value). Which groups
hold them is each family's `scalar_groups` (gkn_core.families); a metric a kind lacks is simply absent.
The settings that differ between runs (`differing_settings`) name the runs in a legend and become
columns of the long table (`scalars_table`, written by `write_scalars` as CSV or Parquet).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gkn_core.errors import GKNError, RunFileError
from gkn_core.families import family

# Each family names the groups of 1-D series that hold its scalars (Family.scalar_groups); "step"
# and "elapsed" are their axes.
AXES = ("step", "elapsed")
METRIC_NAMES = {"train/lyapunov/largest": "lyapunov"}  # a shorter name where the series name is vague
TABLE_COLUMNS = ("run", "kind", "step", "wall_time", "metric", "value")
SCALAR_FORMATS = ("csv", "parquet")
# settings every run has that say nothing about the model (never a legend entry nor a column)
UNINTERESTING = ("device", "description")


@dataclass(frozen=True)
class Series:
    step: np.ndarray  # int64
    wall_time: np.ndarray  # seconds since the job started; NaN where the run did not record it
    value: np.ndarray  # float64


@dataclass
class RunScalars:
    path: Path
    kind: str
    status: str
    settings: dict[str, Any]  # the run's config flattened: "model.layers" -> 7
    series: dict[str, Series] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.stem


def flatten(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as one level of dotted keys; lists become their JSON text (hashable, comparable)."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list | tuple):
            out[name] = json.dumps(value)
        else:
            out[name] = value
    return out


def read_scalars(run: Any) -> RunScalars:
    """The scalars of an open run (gkn_core.runs.reader.Run)."""
    settings = flatten(run.config.model_dump(mode="json"))
    scalars = RunScalars(Path(run.path), run.kind, run.status, settings)
    for group in family(run.kind).scalar_groups:
        if group not in run.file:
            continue
        columns = run.series(group, ("step",))
        step = columns["step"].astype(np.int64)
        if not len(step):
            continue
        wall = columns.get("elapsed")
        if wall is None:  # scores and exponents: the wall time of the same step in train/metrics
            wall = _wall_time_at(scalars, step)
        for name, values in columns.items():
            if name in AXES:
                continue
            metric = METRIC_NAMES.get(f"{group}/{name}", name)
            scalars.series[metric] = Series(step, wall.astype(np.float64), values.astype(np.float64))
    return scalars


def _wall_time_at(scalars: RunScalars, steps: np.ndarray) -> np.ndarray:
    first = next(iter(scalars.series.values()), None)
    if first is None or not np.isfinite(first.wall_time).any():
        return np.full(len(steps), np.nan)
    return np.interp(steps, first.step, first.wall_time)


def load_scalars(path: str | Path) -> RunScalars:
    from gkn_core.runs.reader import open_run

    with open_run(path) as run:
        return read_scalars(run)


def run_files(paths: Iterable[str | Path]) -> list[Path]:
    """Run files named one by one, or every *.h5 of a folder (sorted); a missing path is an error."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(path.rglob("*.h5"))
            if not inside:
                raise GKNError(f"{path}: a folder with no run files (*.h5)")
            found.extend(inside)
        elif path.exists():
            found.append(path)
        else:
            raise RunFileError(f"{path}: no such file")
    return found


def differing_settings(runs: list[RunScalars]) -> list[str]:
    """The settings that do not have one value in every run. Runs of several kinds: the kind first,
    then the settings that differ between runs of the same kind (a gkn run's layers against a chaos
    run's gain says nothing)."""
    kinds = sorted({r.kind for r in runs})
    keys: list[str] = ["kind"] if len(kinds) > 1 else []
    for kind in kinds:
        group = [r for r in runs if r.kind == kind]
        names = sorted({k for r in group for k in r.settings if k.split(".")[-1] not in UNINTERESTING})
        for key in names:
            values = {json.dumps(r.settings.get(key)) for r in group}
            if len(values) > 1 and key not in keys:
                keys.append(key)
    return keys


def run_label(run: RunScalars, keys: list[str]) -> str:
    """The legend entry of a run: the differing settings it has (`layers=7 lr=0.01`), else its name."""
    parts = []
    for key in keys:
        value = run.kind if key == "kind" else run.settings.get(key)
        if value is not None:
            parts.append(
                f"{key.split('.')[-1]}={value:g}"
                if isinstance(value, float)
                else f"{key.split('.')[-1]}={value}"
            )
    return " ".join(parts) or run.name


def scalars_table(runs: list[RunScalars]) -> dict[str, list[Any]]:
    """One long table, column -> values: run, kind, step, wall_time, metric, value, and one column per
    differing setting (empty where a run's kind lacks it)."""
    keys = [k for k in differing_settings(runs) if k != "kind"]
    table: dict[str, list[Any]] = {name: [] for name in (*TABLE_COLUMNS, *keys)}
    for run in runs:
        for metric, series in run.series.items():
            n = len(series.step)
            table["run"] += [run.name] * n
            table["kind"] += [run.kind] * n
            table["step"] += series.step.tolist()
            table["wall_time"] += series.wall_time.tolist()
            table["metric"] += [metric] * n
            table["value"] += series.value.tolist()
            for key in keys:
                table[key] += [run.settings.get(key)] * n
    return table


def write_scalars(runs: list[RunScalars], fmt: str, out: Path, overwrite: bool = False) -> int:
    """Write the long table to `out` (csv or parquet); returns its number of rows."""
    if fmt not in SCALAR_FORMATS:
        raise GKNError(f"--format: scalars are written as {' or '.join(SCALAR_FORMATS)}, not {fmt!r}")
    out = Path(out)
    if out.exists() and not overwrite:
        raise GKNError(f"{out} exists (use --overwrite to replace it)")
    if not out.parent.exists():
        raise GKNError(f"{out.parent}: no such folder")
    table = scalars_table(runs)
    rows = len(table["run"])
    if fmt == "csv":
        with open(out, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(table)
            writer.writerows(zip(*table.values(), strict=True))
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({name: _arrow_column(pa, values) for name, values in table.items()}), out)
    return rows


def _arrow_column(pa: Any, values: list[Any]) -> Any:
    """A column as Arrow infers it; a setting of mixed types (a number here, a word there) as text."""
    if all(v is None for v in values):
        return pa.array(values, pa.string())
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


EXPORT_FORMATS = {
    "chains": ("csv", "npz", "h5"),
    "samples": ("csv", "npz", "h5"),
    "metrics": ("csv", "npz", "h5"),
    "recording": ("csv", "npz", "h5"),
    "scalars": SCALAR_FORMATS,
    "weights": ("safetensors",),
}


def check_export_choice(what: str, fmt: str, runs: int) -> None:
    """One line for an export the CLI cannot make: an unknown --what, a format that does not fit it,
    several runs for an export of one."""
    if what not in EXPORT_FORMATS:
        raise GKNError(f"--what: {what!r} is not one of {', '.join(EXPORT_FORMATS)}")
    if fmt not in EXPORT_FORMATS[what]:
        raise GKNError(
            f"--format: {fmt!r} is not a format of --what {what} ({', '.join(EXPORT_FORMATS[what])})"
        )
    if runs != 1 and what != "scalars":
        raise GKNError(f"--what {what} exports one run; only --what scalars takes several runs or a folder")


def export_scalars(paths: list[Path], fmt: str, out: Path, overwrite: bool = False) -> str:
    """`gkn export RUN.h5 [RUN2.h5 ...|DIR] --what scalars`: the line that says what was written."""
    runs = [load_scalars(path) for path in run_files(paths)]
    rows = write_scalars(runs, fmt, out, overwrite)
    extra = [k for k in differing_settings(runs) if k != "kind"]
    columns = f", setting columns {', '.join(extra)}" if extra else ""
    return f"wrote {out} ({rows} rows from {len(runs)} run{'s' if len(runs) != 1 else ''}{columns})"


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's smoothing: an exponential moving average of the raw values, debiased at the start
    (the first point is the first raw value), NaNs skipped (they stay NaN). weight 0 = the raw values."""
    values = np.asarray(values, dtype=np.float64)
    if weight <= 0 or not len(values):
        return values.copy()
    out = np.full(len(values), np.nan)
    last, count = 0.0, 0
    for i, v in enumerate(values):
        if not np.isfinite(v):
            continue
        last = last * weight + (1 - weight) * v
        count += 1
        out[i] = last / (1 - weight**count)
    return out
