"""`gkn sweep`: run a grid of jobs into a folder (locally or on Ray), show and resume it.

    gkn sweep --preset 1d --grid layers=2,4,7 --seeds 3 --out DIR [--engine local|ray]
    gkn sweep --file sweeps/gkn-depth.toml --out DIR
    gkn sweep show DIR
    gkn sweep resume DIR

`register(cli)` adds the command to the gkn CLI (gkn_core.cli). Every grid point is validated before any job
starts; bad input is one line and exit code 2. A sweep with failed jobs exits 1, a stopped one 130.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from gkn_core.cli.common import progress_bar
from gkn_core.errors import GKNError
from gkn_core.families import sweep_kind

stdout = Console(soft_wrap=True)
# Tables piped to a file or a log keep every column whole instead of squeezing into 80 characters.
wide = stdout if stdout.is_terminal else Console(soft_wrap=True, width=240)
stderr = Console(stderr=True, soft_wrap=True)

sweep_cli = typer.Typer(
    help="Run a grid of jobs over config fields and seeds into a folder; compare them.",
    no_args_is_help=True,
)


def spec_from_options(
    file: Path | None,
    kind: str | None,
    preset: str | None,
    grid: list[str],
    fixed: list[str],
    seeds: int | None,
    metrics: str | None,
) -> Any:
    """The resolved spec of a sweep file with the command-line options applied over it."""
    from gkn_core.sweeps.spec import (
        build_spec,
        flatten,
        parse_assignment,
        parse_value,
        parse_values,
        read_sweep_file,
        resolve_field,
    )

    raw: dict[str, Any] = read_sweep_file(file) if file is not None else {}
    if kind is not None:
        if file is not None and raw.get("kind", "gkn") != kind:
            raise GKNError(f"--kind {kind} contradicts the sweep file's kind {raw.get('kind', 'gkn')!r}")
        raw["kind"] = kind
    if preset is not None:
        raw["preset"] = preset
    kind_name = str(raw.get("kind", "gkn"))
    sweep_kind(kind_name)  # an unknown kind is one line before any field is resolved

    def override(section: str, assignments: list[str], option: str, many: bool) -> None:
        if not assignments:
            return
        table = flatten(raw.get(section, {}))
        given: set[str] = set()
        for text in assignments:
            name, values = parse_assignment(text, option)
            path = resolve_field(kind_name, name)
            if path in given:
                raise GKNError(f"{option}: {path} is given twice")
            given.add(path)
            # The option replaces what the file says for the same field, however it was spelled there.
            table = {k: v for k, v in table.items() if k != path and _resolves_to(kind_name, k) != path}
            table[path] = parse_values(values) if many else parse_value(values)
        raw[section] = table

    override("grid", grid, "--grid", many=True)
    override("set", fixed, "--set", many=False)
    if seeds is not None:
        raw["seeds"] = seeds
    if metrics is not None:
        raw["metrics"] = [m.strip() for m in metrics.split(",") if m.strip()]
    return build_spec(raw)


def _resolves_to(kind: str, name: str) -> str | None:
    from gkn_core.sweeps.spec import resolve_field

    try:
        return resolve_field(kind, name)
    except GKNError:
        return None


@contextlib.contextmanager
def ctrl_c_stops_sweep(stop: threading.Event) -> Iterator[None]:
    """First Ctrl+C: no new jobs, running ones stop after their step; a second one interrupts at once."""

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print(
            "\nstopping: running jobs end after their current step (Ctrl+C again to interrupt)",
            file=sys.stderr,
        )

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _metric_text(record: dict[str, Any]) -> str:
    shown = [f"{k} {v:.4g}" for k, v in record.get("metrics", {}).items() if v is not None][:4]
    return ", ".join(shown)


def run_and_report(
    spec: Any,
    out: Path,
    engine: str,
    workers: int | None,
    address: str | None,
    gpus_per_job: float | None,
    working_dir: Path | None,
    quiet: bool,
) -> None:
    from gkn_core.sweeps.runner import run_sweep

    if engine not in ("local", "ray"):
        raise GKNError(f"--engine: {engine!r} is not one of local, ray")
    if workers is not None and workers < 0:
        raise GKNError(f"--workers: must be >= 0 (got {workers}; 0 runs the jobs in this process)")
    if engine == "local" and (address is not None or working_dir is not None):
        raise GKNError("--address and --working-dir need --engine ray")
    if gpus_per_job is not None and gpus_per_job < 0:
        raise GKNError(f"--gpus-per-job: must be >= 0 (got {gpus_per_job:g})")
    if working_dir is not None and not working_dir.is_dir():
        raise GKNError(f"--working-dir: {working_dir} is not a folder")
    if engine == "ray":
        from gkn_core.sweeps.engines import _ray_module

        _ray_module()  # a missing Ray is bad input: say so before the folder is made
    from gkn_core.sweeps.folder import prepare_folder
    from gkn_core.sweeps.spec import plan_jobs

    plan_jobs(spec)  # every job validated before the folder is made or a bar is drawn
    prepare_folder(out, spec)  # refuses a folder that holds another sweep, before the bar too
    stop = threading.Event()
    with ctrl_c_stops_sweep(stop), progress_bar(quiet) as progress:
        task = progress.add_task(f"sweep {spec.kind}", total=None, metric="")

        def on_plan(plan: Any) -> None:
            done = len(plan.jobs) - len(plan.todo)
            progress.update(task, total=len(plan.todo), metric=f"{done} of {len(plan.jobs)} already done")

        def on_result(job: Any, record: dict[str, Any]) -> None:
            progress.advance(task)
            if not quiet:
                detail = record["reason"] if record["status"] != "completed" else _metric_text(record)
                took = f"({record['elapsed_s']:.1f} s)"
                progress.console.print(f"{record['status']:9} {job.name} {took} {detail}", markup=False)

        outcome = run_sweep(
            spec,
            out,
            engine,  # type: ignore[arg-type]
            workers,
            address,
            gpus_per_job,
            None if working_dir is None else str(working_dir.resolve()),
            stop,
            on_plan,
            on_result,
        )
    stdout.print(
        f"sweep {out}: {outcome.total} jobs, {outcome.finished} completed ({outcome.completed} now, "
        f"{outcome.already_done} already done), {len(outcome.failed)} failed, "
        f"{outcome.stopped + outcome.not_started} not finished; table in {out / 'summary.csv'}"
    )
    for name, reason in outcome.failed:
        stderr.print(f"failed {name}: {reason}", markup=False, highlight=False)
    if stop.is_set() or outcome.stopped or outcome.not_started:
        stderr.print(f"stopped early: `gkn sweep resume {out}` runs the jobs not finished")
        raise typer.Exit(130)
    if outcome.failed:
        raise typer.Exit(1)


EngineOption = Annotated[str, typer.Option(help="local (a process pool) or ray (a Ray cluster).")]
WorkersOption = Annotated[
    int | None, typer.Option(help="Local processes (default: the CPUs; 0 runs in this process).")
]
AddressOption = Annotated[
    str | None, typer.Option(help="Ray cluster address (auto, HOST:6379, ray://HOST:10001).")
]
GpusOption = Annotated[
    float | None, typer.Option(help="GPUs per Ray task (default: 1 if the cluster has GPUs, else 0).")
]
WorkingDirOption = Annotated[
    Path | None, typer.Option(help="Ray: ship this project folder to every node (runtime_env working_dir).")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or job lines.")]


@sweep_cli.callback(invoke_without_command=True)
def sweep(
    ctx: typer.Context,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Sweep folder to write or resume.")] = None,
    file: Annotated[Path | None, typer.Option(help="A sweep file (TOML): sweeps/gkn-depth.toml.")] = None,
    kind: Annotated[str | None, typer.Option(help="gkn (default), chaos or lyapunov (untrained).")] = None,
    preset: Annotated[str | None, typer.Option(help="Preset every job starts from.")] = None,
    grid: Annotated[
        list[str] | None, typer.Option(help="FIELD=VALUES swept, e.g. layers=2,4,7 or g=0.5..2.5:0.5.")
    ] = None,
    fixed: Annotated[
        list[str] | None, typer.Option("--set", help="FIELD=VALUE for every job, e.g. train.steps=500.")
    ] = None,
    seeds: Annotated[int | None, typer.Option(help="Seeds per grid point (0, 1, ... N-1).")] = None,
    metrics: Annotated[str | None, typer.Option(help="End metrics, comma-separated.")] = None,
    engine: EngineOption = "local",
    workers: WorkersOption = None,
    address: AddressOption = None,
    gpus_per_job: GpusOption = None,
    working_dir: WorkingDirOption = None,
    dry_run: Annotated[bool, typer.Option(help="Validate and list the jobs; run nothing.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Run a sweep; a rerun into the same folder skips the finished jobs."""
    if ctx.invoked_subcommand is not None:
        return
    spec = spec_from_options(file, kind, preset, grid or [], fixed or [], seeds, metrics)
    if dry_run:
        from gkn_core.sweeps.spec import plan_jobs

        jobs = plan_jobs(spec)
        for job in jobs:
            stdout.print(job.name, markup=False, highlight=False)
        stdout.print(f"{len(jobs)} jobs of kind {spec.kind}, metrics: {', '.join(spec.metrics)}")
        return
    if out is None:
        raise GKNError("--out: give the sweep folder to write, e.g. --out runs/sweeps/depth")
    run_and_report(spec, out, engine, workers, address, gpus_per_job, working_dir, quiet)


@sweep_cli.command("resume")
def resume(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="A sweep folder.")],
    engine: EngineOption = "local",
    workers: WorkersOption = None,
    address: AddressOption = None,
    gpus_per_job: GpusOption = None,
    working_dir: WorkingDirOption = None,
    quiet: QuietOption = False,
) -> None:
    """Run the jobs of a sweep folder that are not finished (with the spec stored in it)."""
    from gkn_core.sweeps.folder import read_spec

    run_and_report(read_spec(folder), folder, engine, workers, address, gpus_per_job, working_dir, quiet)


@sweep_cli.command("show")
def show(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="A sweep folder.")],
    runs: Annotated[bool, typer.Option(help="One row per run instead of per grid point.")] = False,
) -> None:
    """Print a sweep's table: each end metric as mean ± std over seeds, per grid point."""
    from gkn_core.sweeps.spec import format_value
    from gkn_core.sweeps.table import format_metric, load_sweep

    table = load_sweep(folder)
    spec = table.spec
    counts = ", ".join(f"{n} {status}" for status, n in sorted(table.counts().items()))
    title = f"{folder}: {spec.kind} sweep of {len(table.rows)} jobs ({counts})"
    if runs:
        out = Table(*spec.grid, "seed", "status", *spec.metrics, "run", title=title)
        for row in table.rows:
            out.add_row(
                *(format_value(row.point[f]) for f in spec.grid),
                str(row.seed),
                row.status if row.status == "completed" else f"{row.status} {row.reason}".strip(),
                *(format_metric(row.metrics[m]) for m in spec.metrics),
                "" if row.run is None else str(row.run.relative_to(Path(folder).resolve())),
            )
        wide.print(out)
        return
    out = Table(*spec.grid, "done", *spec.metrics, title=title + "; mean ± std over seeds")
    points: dict[str, list[Any]] = {}
    for row in table.rows:
        points.setdefault(repr(list(row.point.values())), []).append(row)
    for rows in points.values():
        cells = []
        for metric in spec.metrics:
            values = [r.metrics[metric] for r in rows if r.status == "completed"]
            finite = [v for v in values if v == v]
            if not finite:
                cells.append("")
            elif len(finite) == 1:
                cells.append(format_metric(finite[0]))
            else:
                import numpy as np

                cells.append(f"{np.mean(finite):.4g} ± {np.std(finite, ddof=1):.2g}")
        done = sum(r.status == "completed" for r in rows)
        out.add_row(*(format_value(rows[0].point[f]) for f in spec.grid), f"{done}/{len(rows)}", *cells)
    wide.print(out)


def register(cli: typer.Typer) -> None:
    """Add `gkn sweep` to the gkn CLI."""
    cli.add_typer(sweep_cli, name="sweep")
