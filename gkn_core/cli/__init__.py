"""`gkn`: train, sample, inspect and export runs from the command line.

Bad input of any kind ends with one line on stderr and exit code 2, never a traceback. The first
Ctrl+C stops a job at the next step boundary and closes its run file with status `stopped`.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

# typer vendors click since 0.2x; its exceptions are the ones raised (typer is pinned in constraints.txt).
from typer._click import exceptions as click_errors

from gkn_core import __version__
from gkn_core.cli import chaos as cli_chaos
from gkn_core.cli import sweep as cli_sweep
from gkn_core.errors import GKNError, out_of_memory
from gkn_core.gkn.config import (
    Activation,
    NoiseLaw,
    StartLaw,
    ValueRange,
    parse_points,
    preset_config,
    preset_description,
    preset_names,
)
from gkn_core.job import Job
from gkn_core.runs.reader import damage_reason, open_run

cli = typer.Typer(
    name="gkn",
    help="GKN Studio: Generative Kaleidoscopic Networks from the command line.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
train_cli = typer.Typer(help="Train a model and record the run to an HDF5 file.", no_args_is_help=True)
runs_cli = typer.Typer(help="Look inside run files.", no_args_is_help=True)
cli.add_typer(train_cli, name="train")
cli.add_typer(runs_cli, name="runs")

stdout = Console(soft_wrap=True)  # result lines stay whole lines when piped
KNOWN_DATA = ("digits8", "mnist", "uniform", "blobs", "ring", "moons")


def data_overrides(
    data: str | None, points: str | None, value_range: str | None, n: int | None, dim: int | None
) -> dict[str, Any]:
    section: dict[str, Any] = {}
    if data is not None and points is not None:
        raise GKNError("give either --data or --points, not both")
    if points is not None:
        section.update(source="points", points=parse_points(points))
    elif data is not None:
        if data in KNOWN_DATA:
            section.update(source=data, points=None)
        elif Path(data).exists():
            section.update(source="file", path=str(Path(data).resolve()), points=None)
        else:
            raise GKNError(
                f"--data: {data!r} is neither a known data set ({', '.join(KNOWN_DATA)}) nor a file"
            )
    for key, value in (("value_range", value_range), ("n", n), ("dim", dim)):
        if value is not None:
            section[key] = value
    return section


def drop_none(section: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in section.items() if v is not None}


def run_kind(run_path: Path) -> str:
    with open_run(run_path) as run:
        return run.kind


@contextlib.contextmanager
def ctrl_c_stops(job: Job) -> Iterator[None]:
    """First Ctrl+C: stop at the next step; a second one interrupts at once."""

    def handler(signum: int, frame: object) -> None:
        if job.stop_requested:
            raise KeyboardInterrupt
        job.stop()
        print("\nstopping after this step (Ctrl+C again to interrupt)", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def progress_bar(quiet: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[metric]}"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=quiet,
        transient=False,
    )


@train_cli.command("gkn")
def train_gkn(
    out: Annotated[Path, typer.Option("--out", "-o", help="Run file to write (HDF5).")],
    preset: Annotated[str, typer.Option(help=f"Starting settings: {', '.join(preset_names())}.")] = "1d",
    layers: Annotated[int | None, typer.Option(help="Number of Linear layers L.")] = None,
    hidden: Annotated[int | None, typer.Option(help="Hidden width H.")] = None,
    activation: Annotated[Activation | None, typer.Option(help="Hidden activation.")] = None,
    steps: Annotated[int | None, typer.Option(help="Optimizer steps.")] = None,
    lr: Annotated[float | None, typer.Option(help="Adam learning rate.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Minibatch size (default: preset).")] = None,
    keep_best: Annotated[
        bool | None, typer.Option("--keep-best/--keep-last", help="Keep the best-loss weights or the last.")
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(help=f"{', '.join(KNOWN_DATA)}, or an image file (IDX, .gz or not, or .npz)."),
    ] = None,
    points: Annotated[
        str | None, typer.Option(help="Training points: '0.2,0.8' or '0.2 0.2; 0.8 0.8'.")
    ] = None,
    value_range: Annotated[
        ValueRange | None, typer.Option(help="unit = [0,1] (Sigmoid out), symmetric = [-1,1] (Tanh out).")
    ] = None,
    n: Annotated[int | None, typer.Option(help="Points drawn by a generator (uniform, blobs ...).")] = None,
    dim: Annotated[int | None, typer.Option(help="Dimension for a generator.")] = None,
    limit: Annotated[int | None, typer.Option(help="Use only the first N images.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of weights, batches and data.")] = None,
    device: Annotated[str | None, typer.Option(help="auto (CUDA if present), cpu, cuda, cuda:N.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Train a Generative Kaleidoscopic Network (an MLP that learns x -> x)."""
    from gkn_core.gkn.sessions import training_session

    overrides: dict[str, Any] = drop_none({"seed": seed, "device": device})
    sections = {
        "model": drop_none({"layers": layers, "hidden": hidden, "activation": activation}),
        "train": drop_none({"steps": steps, "lr": lr, "batch_size": batch_size, "keep_best": keep_best}),
        "data": {**data_overrides(data, points, value_range, n, dim), **drop_none({"limit": limit})},
    }
    overrides.update({k: v for k, v in sections.items() if v})
    config = preset_config(preset, overrides)
    job, snapshots = training_session(config, out, overwrite)
    with ctrl_c_stops(job), progress_bar(quiet) as progress:
        task = progress.add_task(f"train {preset}", total=job.total_steps, metric="")
        for snap in snapshots:
            if snap.step % 10 == 0 or snap.step == snap.total_steps:
                progress.update(task, completed=snap.step, metric=f"loss {snap.loss:.3g}")
    with open_run(out) as run:
        stdout.print(
            f"{run.status}: {out} ({job.steps_done} steps, best loss {job.best_loss:.4g}, "
            f"{run.info.get('device')})"
        )


@cli.command("sample")
def sample(
    run_path: Annotated[Path, typer.Argument(metavar="RUN.h5", help="A trained gkn run.")],
    chains: Annotated[int | None, typer.Option(help="Number of chains.")] = None,
    steps: Annotated[int | None, typer.Option(help="Iterations per chain.")] = None,
    noise: Annotated[float | None, typer.Option(help="Noise scale sigma added after every step.")] = None,
    noise_law: Annotated[NoiseLaw | None, typer.Option(help="Zero-mean noise law.")] = None,
    burn_in: Annotated[int | None, typer.Option(help="Steps before states count as samples.")] = None,
    start: Annotated[StartLaw | None, typer.Option(help="Law of the starting states.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of starts and noise.")] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda, cuda:N.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Sample a run: kaleidoscopic chains (gkn) or the network's own dynamics (chaos); added to the run."""
    from gkn_core.gkn.sessions import sampling_session

    if run_kind(run_path) == "chaos":
        gkn_only = {"noise": noise, "noise_law": noise_law, "burn_in": burn_in, "start": start}
        cli_chaos.sample_chaos_run(run_path, gkn_only, chains, steps, seed, device, quiet)
        return

    overrides = drop_none(
        {
            "chains": chains,
            "steps": steps,
            "noise": noise,
            "noise_law": noise_law,
            "burn_in": burn_in,
            "start": start,
            "seed": seed,
        }
    )
    job, snapshots = sampling_session(run_path, overrides, device)
    last = None
    with ctrl_c_stops(job), progress_bar(quiet) as progress:
        task = progress.add_task("sample", total=job.total_steps, metric="")
        for last in snapshots:
            progress.update(task, completed=last.step, metric=f"moved {last.movement:.3g}")
    with open_run(run_path) as run:
        record = run.sampling()
    distance = "" if last is None else f", distance to data {last.data_distance:.3g}"
    stdout.print(
        f"{record.status}: sampling {record.name} in {run_path}: {record.chains.shape[0]} chains x "
        f"{record.chains.shape[1] - 1} steps{distance}"
    )


@runs_cli.command("show")
def runs_show(run_path: Annotated[Path, typer.Argument(metavar="RUN.h5")]) -> None:
    """Print what a run file holds."""
    with open_run(run_path) as run:
        if run.kind == "chaos":
            cli_chaos.show_chaos_run(run)
            return
        table = Table(title=str(run_path), show_header=False)
        for key, value in run.info.items():
            table.add_row(key, str(value))
        c = run.config
        table.add_row("preset", str(c.preset))
        table.add_row(
            "data",
            f"{c.data.source} ({run.file['data'].attrs['n']} x {run.dim}, "
            f"range [{run.data_range[0]:g}, {run.data_range[1]:g}])",
        )
        table.add_row("model", f"L={c.model.layers} H={c.model.hidden} {c.model.activation}")
        table.add_row(
            "train", f"{c.train.steps} steps, lr {c.train.lr:g}, batch {c.train.batch_size or 'full'}"
        )
        metrics = run.train_metrics()
        if metrics and len(metrics["step"]):
            loss = metrics["loss"]
            table.add_row(
                "loss",
                f"{loss[0]:.4g} at step 1 -> {loss[-1]:.4g} at step {metrics['step'][-1]}"
                f" (best {metrics['best_loss'][-1]:.4g})",
            )
        table.add_row("checkpoints", ", ".join(map(str, run.checkpoint_steps())) or "none")
        for name in run.sampling_names():
            record = run.sampling(name)
            s = record.settings
            table.add_row(
                f"sampling {name}",
                f"{record.status}: {record.chains.shape[0]} chains x "
                f"{record.chains.shape[1] - 1} steps, noise {s.noise:g} "
                f"{s.noise_law}, burn-in {s.burn_in}",
            )
        stdout.print(table)


@cli.command("export")
def export(
    run_path: Annotated[Path, typer.Argument(metavar="RUN.h5")],
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write.")],
    what: Annotated[str, typer.Option(help="chains, samples, metrics or recording (chaos).")] = "chains",
    fmt: Annotated[str, typer.Option("--format", help="csv, npz or h5.")] = "csv",
    sampling: Annotated[int | None, typer.Option(help="Which sampling (0, 1, ...; default newest).")] = None,
    recording: Annotated[
        int | None, typer.Option(help="Which trajectory recording of a chaos run (default newest).")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists.")] = False,
) -> None:
    """Export trajectory recordings (chains), samples, training metrics, or a chaos run's recording."""
    from gkn_core.gkn.export import export_run

    if what not in ("chains", "samples", "metrics", "recording"):
        raise GKNError(f"--what: {what!r} is not one of chains, samples, metrics, recording")
    if fmt not in ("csv", "npz", "h5"):
        raise GKNError(f"--format: {fmt!r} is not one of csv, npz, h5")
    if run_kind(run_path) == "chaos" and what != "metrics":
        cli_chaos.export_chaos_run(run_path, out, what, fmt, sampling, overwrite, recording)
        return
    if what == "recording":
        raise GKNError(f"{run_path} is a gkn run; trajectory recordings belong to chaos runs")
    with open_run(run_path) as run:
        shapes = export_run(run, what, fmt, out, sampling, overwrite)  # type: ignore[arg-type]
    described = ", ".join(
        f"{k} {'x'.join(map(str, v))}" for k, v in shapes.items() if not k.startswith("metrics_")
    )
    stdout.print(f"wrote {out} ({described})")


@cli.command("presets")
def presets() -> None:
    """List the presets."""
    table = Table("preset", "description")
    for name in preset_names():
        table.add_row(name, preset_description(name))
    stdout.print(table)


@cli.command("version")
def version() -> None:
    """Print the version."""
    stdout.print(f"gkn-studio {__version__}")


cli_chaos.register(train_cli, cli)
cli_sweep.register(cli)


def raised_by_h5py(exc: BaseException) -> bool:
    """True when the error came out of h5py (reading a damaged file), not out of this product's code."""
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and "h5py" in Path(frames[-1].filename).parts


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning every user error into one line and exit code 2."""
    command = typer.main.get_command(cli)
    try:
        result = command.main(args=argv, prog_name="gkn", standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:
        print(exc.ctx.get_help() if exc.ctx else str(exc))
        sys.exit(0)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except click_errors.ClickException as exc:
        where = f" ({exc.ctx.command_path})" if getattr(exc, "ctx", None) else ""
        print(f"gkn: error{where}: {exc.format_message()}", file=sys.stderr)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        print("gkn: interrupted", file=sys.stderr)
        sys.exit(130)
    except GKNError as exc:
        print(f"gkn: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except (MemoryError, RuntimeError, OSError, KeyError, ValueError, TypeError) as exc:
        memory = out_of_memory(exc)  # out of memory outside a job (e.g. a Lyapunov spectrum)
        if memory is not None:
            print(f"gkn: error: {memory} (try smaller settings or another device)", file=sys.stderr)
            sys.exit(2)
        if not raised_by_h5py(exc):
            raise
        # HDF5 could not read an object of a damaged file the reader's checks did not reach
        print(f"gkn: error: a file is damaged: {damage_reason(exc)}", file=sys.stderr)
        sys.exit(2)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
