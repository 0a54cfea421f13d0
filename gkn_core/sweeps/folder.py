"""The sweep folder: self-describing, resumable, and written atomically.

    DIR/sweep.json          the resolved spec (a rerun with another spec into DIR is refused)
    DIR/runs/<job>.h5       each job's run file (gkn and chaos kinds)
    DIR/runs/<job>.json     each job's record: status, reason, end metrics (written when it ends)
    DIR/summary.csv         one row per job: swept fields, seed, status, reason, end metrics, run
    DIR/summary.h5          the same table, one dataset per column

Every file is written to a temporary name and moved into place (os.replace), so a killed sweep
never leaves half a table. A job is finished when its record says `completed` and its run file
opens with status `completed`.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from gkn_core import __version__
from gkn_core.errors import GKNError
from gkn_core.sweeps.jobs import JobResult, run_completed
from gkn_core.sweeps.spec import SPEC_FORMAT, SweepJob, SweepSpec, build_spec, format_value

SPEC_FILE = "sweep.json"
SUMMARY_CSV = "summary.csv"
SUMMARY_H5 = "summary.h5"
LOCK_FILE = ".sweep.lock"
FIXED_COLUMNS = ("job", "seed", "status", "reason")
TAIL_COLUMNS = ("elapsed_s", "device", "run")


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the new one, never a mix."""
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def read_spec(folder: str | Path) -> SweepSpec:
    """The spec a sweep folder was made with."""
    path = Path(folder) / SPEC_FILE
    if not Path(folder).is_dir():
        raise GKNError(f"{folder}: no such sweep folder")
    if not path.is_file():
        raise GKNError(f"{folder} is not a sweep folder (it has no {SPEC_FILE})")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise GKNError(f"{path} cannot be read: {exc}") from None
    if raw.get("format") != SPEC_FORMAT:
        raise GKNError(f"{path} is not a GKN Studio sweep spec (no format={SPEC_FORMAT!r})")
    raw.pop("software_version", None)
    raw.pop("created", None)
    return build_spec(raw)


def prepare_folder(folder: Path, spec: SweepSpec) -> None:
    """Create the folder with its sweep.json, or check that it holds this very sweep."""
    if folder.exists() and not folder.is_dir():
        raise GKNError(f"--out: {folder} is a file, not a folder")
    spec_path = folder / SPEC_FILE
    if spec_path.exists():
        existing = read_spec(folder)
        if existing.identity() != spec.identity():
            differ = [k for k, v in spec.identity().items() if existing.identity().get(k) != v]
            raise GKNError(
                f"{folder} holds another sweep (its {', '.join(differ)} differ); choose another --out, "
                f"or finish that one with `gkn sweep resume {folder}`"
            )
        return
    if folder.exists() and any(p.name != LOCK_FILE for p in folder.iterdir()):
        raise GKNError(f"--out: {folder} exists and is not a sweep folder; choose a new or empty folder")
    try:
        (folder / "runs").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GKNError(f"cannot create {folder}: {exc.strerror or exc}") from None
    document = {**spec.as_dict(), "software_version": __version__, "created": _utc_now()}
    atomic_write(spec_path, (json.dumps(document, indent=2) + "\n").encode())


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """One sweep process per folder at a time."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before
        yield
        return
    with open(folder / LOCK_FILE, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise GKNError(f"{folder} is being run by another `gkn sweep` right now") from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# -- records ---------------------------------------------------------------------------------------
def read_record(folder: Path, job: SweepJob) -> dict[str, Any] | None:
    path = folder / job.record_file
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) and record.get("job") == job.name else None


def make_record(job: SweepJob, result: JobResult) -> dict[str, Any]:
    return {
        "job": job.name,
        "index": job.index,
        "point": job.point,
        "seed": job.seed,
        "status": result.status,
        "reason": result.reason,
        # JSON has no NaN: a metric that does not apply is null.
        "metrics": {k: (v if math.isfinite(v) else None) for k, v in result.metrics.items()},
        "elapsed_s": round(result.elapsed, 3),
        "device": result.device,
        "run": job.run_file,
        "finished": _utc_now(),
    }


def write_record(folder: Path, job: SweepJob, result: JobResult) -> dict[str, Any]:
    """Store a job's outcome (and its run file, when it came back as bytes) in the folder."""
    for relative, data in result.files.items():
        atomic_write(folder / relative, data)
    record = make_record(job, result)
    atomic_write(folder / job.record_file, (json.dumps(record, indent=1) + "\n").encode())
    return record


def is_finished(folder: Path, job: SweepJob, record: dict[str, Any] | None) -> bool:
    if record is None or record.get("status") != "completed":
        return False
    return job.run_file is None or run_completed(folder / job.run_file)


def pending_record(job: SweepJob) -> dict[str, Any]:
    return {
        "job": job.name,
        "index": job.index,
        "point": job.point,
        "seed": job.seed,
        "status": "pending",
        "reason": "",
        "metrics": {},
        "elapsed_s": None,
        "device": "",
        "run": job.run_file,
    }


# -- the summary table -----------------------------------------------------------------------------
def summary_columns(spec: SweepSpec) -> list[str]:
    return [FIXED_COLUMNS[0], *spec.grid, *FIXED_COLUMNS[1:], *spec.metrics, *TAIL_COLUMNS]


def summary_rows(spec: SweepSpec, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for record in records:
        row: dict[str, Any] = {
            "job": record["job"],
            "seed": record["seed"],
            "status": record["status"],
            "reason": record.get("reason", ""),
            "elapsed_s": record.get("elapsed_s"),
            "device": record.get("device", ""),
            "run": record.get("run") or "",
        }
        row.update(record["point"])
        for name in spec.metrics:
            value = record.get("metrics", {}).get(name)
            row[name] = math.nan if value is None else float(value)
        rows.append(row)
    return rows


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return format_value(value)


def write_summary(folder: Path, spec: SweepSpec, records: list[dict[str, Any]]) -> None:
    """summary.csv and summary.h5, each replaced atomically."""
    columns = summary_columns(spec)
    rows = summary_rows(spec, records)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_cell(row.get(c)) for c in columns])
    atomic_write(folder / SUMMARY_CSV, text.getvalue().encode())

    handle, temp = tempfile.mkstemp(prefix=f".{SUMMARY_H5}.", dir=folder)
    os.close(handle)
    try:
        with h5py.File(temp, "w") as file:
            file.attrs.update(
                format=SPEC_FORMAT + "-summary",
                format_version=1,
                spec=json.dumps(spec.as_dict()),
                columns=json.dumps(columns),
                updated=_utc_now(),
            )
            for column in columns:
                values = [row.get(column) for row in rows]
                file.create_dataset(column, data=_column_array(column, values, spec))
        os.replace(temp, folder / SUMMARY_H5)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _column_array(column: str, values: list[Any], spec: SweepSpec) -> np.ndarray:
    if column in spec.metrics or column == "elapsed_s":
        return np.asarray([math.nan if v is None else float(v) for v in values], dtype=np.float64)
    if column == "seed" or (values and all(isinstance(v, int) and not isinstance(v, bool) for v in values)):
        return np.asarray(values, dtype=np.int64)
    if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=np.float64)
    return np.asarray([_csv_cell(v) for v in values], dtype=h5py.string_dtype())
