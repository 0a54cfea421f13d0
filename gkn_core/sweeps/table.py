"""Reading a sweep folder back: its rows, and any end metric against any swept field with the mean
and standard deviation over seeds (what `gkn sweep show` prints and the app's sweep view draws)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gkn_core.errors import GKNError
from gkn_core.sweeps.folder import pending_record, read_record, read_spec, summary_rows
from gkn_core.sweeps.spec import SweepSpec, describe_point, format_value, plan_jobs


@dataclass(frozen=True)
class SweepRow:
    job: str
    point: dict[str, Any]
    seed: int
    status: str
    reason: str
    metrics: dict[str, float]  # NaN where the job has no value (not finished, or not applicable)
    run: Path | None  # the run file, absolute; None for jobs that record only numbers


@dataclass(frozen=True)
class SweepCurve:
    """One curve: the metric against the x field at fixed values of every other swept field."""

    label: str  # "preset=2d" (empty when x is the only swept field)
    group: dict[str, Any]
    x: np.ndarray  # positions: the values, or 0, 1, ... for values that are not numbers
    x_values: list[Any]  # the swept values at those positions
    mean: np.ndarray
    std: np.ndarray  # sample standard deviation over seeds (0 with one seed)
    n: np.ndarray  # seeds with a finite value
    rows: list[list[SweepRow]]  # per point, the runs over seeds (completed or not)


@dataclass(frozen=True)
class SweepTable:
    folder: Path
    spec: SweepSpec
    rows: list[SweepRow]

    @property
    def fields(self) -> list[str]:
        return list(self.spec.grid)

    @property
    def metrics(self) -> list[str]:
        return list(self.spec.metrics)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        return counts

    def is_numeric(self, field: str) -> bool:
        values = self.spec.grid[field]
        return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)

    def curves(self, metric: str, x: str) -> list[SweepCurve]:
        """`metric` against swept field `x`, mean and std over seeds of the completed runs, one curve
        for each combination of the other swept fields (so different settings are never pooled)."""
        if metric not in self.spec.metrics:
            raise GKNError(f"unknown metric {metric!r} (this sweep has {', '.join(self.spec.metrics)})")
        if x not in self.spec.grid:
            raise GKNError(f"{x!r} is not swept (swept: {', '.join(self.spec.grid) or 'nothing'})")
        x_values = self.spec.grid[x]
        numeric = self.is_numeric(x)
        others = [f for f in self.spec.grid if f != x]
        groups: dict[str, dict[str, Any]] = {}
        cells: dict[tuple[str, int], list[SweepRow]] = {}
        for row in self.rows:
            group = {f: row.point[f] for f in others}
            key = describe_point(group)
            groups.setdefault(key, group)
            position = next(i for i, v in enumerate(x_values) if v == row.point[x])
            cells.setdefault((key, position), []).append(row)
        curves = []
        for key, group in groups.items():
            xs, values, means, stds, ns, rows = [], [], [], [], [], []
            for position, value in enumerate(x_values):
                cell = cells.get((key, position), [])
                finite = [
                    r.metrics[metric]
                    for r in cell
                    if r.status == "completed" and math.isfinite(r.metrics.get(metric, math.nan))
                ]
                if not finite:
                    continue
                xs.append(float(value) if numeric else float(position))
                values.append(value)
                means.append(float(np.mean(finite)))
                stds.append(float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0)
                ns.append(len(finite))
                rows.append(sorted(cell, key=lambda r: r.seed))
            curves.append(
                SweepCurve(
                    key,
                    group,
                    np.asarray(xs, dtype=np.float64),
                    values,
                    np.asarray(means),
                    np.asarray(stds),
                    np.asarray(ns, dtype=np.int64),
                    rows,
                )
            )
        return curves


def load_sweep(folder: str | Path) -> SweepTable:
    """A sweep folder as a table (jobs not run yet are rows with status `pending`)."""
    folder = Path(folder)
    spec = read_spec(folder)
    jobs = plan_jobs(spec)
    records = [read_record(folder, job) or pending_record(job) for job in jobs]
    rows = []
    for job, record, flat in zip(jobs, records, summary_rows(spec, records), strict=True):
        rows.append(
            SweepRow(
                job=job.name,
                point=dict(job.point),
                seed=job.seed,
                status=str(record.get("status", "pending")),
                reason=str(record.get("reason", "")),
                metrics={m: flat[m] for m in spec.metrics},
                run=(folder / job.run_file).resolve() if job.run_file else None,
            )
        )
    return SweepTable(folder, spec, rows)


def format_metric(value: float) -> str:
    return "" if not math.isfinite(value) else f"{value:.4g}"


def point_label(point: dict[str, Any]) -> str:
    return ", ".join(f"{k}={format_value(v)}" for k, v in point.items())
