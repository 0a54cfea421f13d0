"""The commands for any run file, whatever its kind: `gkn sample`, `gkn runs show`, `gkn export`.

Each looks the run's kind up in gkn_core.families and hands over to that family's CLI module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gkn_core.cli.common import ExportRequest, run_kind, stdout
from gkn_core.cli.options import Quiet
from gkn_core.cli.setting_options import SettingOption, with_setting_options
from gkn_core.errors import GKNError
from gkn_core.families import family
from gkn_core.gkn.config import NoiseLaw, StartLaw

runs_cli = typer.Typer(help="Look inside run files.", no_args_is_help=True)


SAMPLE_OPTIONS = (
    SettingOption("chains", "chains", int, "Number of chains."),
    SettingOption("steps", "steps", int, "Iterations per chain."),
    SettingOption("noise", "noise", float, "Noise scale sigma added after every step."),
    SettingOption("noise_law", "noise_law", NoiseLaw, "Zero-mean noise law."),
    SettingOption("burn_in", "burn_in", int, "Steps before states count as samples."),
    SettingOption("start", "start", StartLaw, "Law of the starting states."),
    SettingOption("seed", "seed", int, "Seed of starts and noise."),
    SettingOption("device", "device", str, "auto (CUDA if present), cpu, cuda, cuda:N."),
    SettingOption(
        "score_times",
        "score_times",
        str,
        "Chaos: every score at these sampling times, same chains, e.g. 10,25,50,100,200,400.",
    ),
    SettingOption(
        "score_samples",
        "score_samples",
        int,
        "Chaos, with --score-times: chains scored (2..10000, default 1000).",
    ),
)


@with_setting_options(*SAMPLE_OPTIONS)
def sample(
    run_path: Annotated[Path, typer.Argument(metavar="RUN.h5", help="A trained gkn run.")],
    settings: dict[str, Any] | None = None,
    quiet: Quiet = False,
) -> None:
    """Sample a run: kaleidoscopic chains (gkn) or the network's own dynamics (chaos); added to the run.
    On a chaos run, --score-times scores the same chains at each time instead (recorded in the run)."""
    options = {name: None for name in ("chains", "steps", "seed", "device")} | (settings or {})
    family(run_kind(run_path)).get("sample_cli")(run_path, options, quiet)


@runs_cli.command("show")
def runs_show(run_path: Annotated[Path, typer.Argument(metavar="RUN.h5")]) -> None:
    """Print what a run file holds."""
    from gkn_core.runs.reader import open_run

    with open_run(run_path) as run:
        family(run.kind).get("show")(run)


@runs_cli.command("check")
def runs_check(run_path: Annotated[Path, typer.Argument(metavar="RUN.h5")]) -> None:
    """Read every dataset and attribute of a run file and verify its checksums (exit 2: damaged)."""
    from gkn_core.runs.check import check_run

    report = check_run(run_path)
    missing = report.datasets - report.checksummed
    note = (
        f"; {missing} without checksums (written before run files had them), so damaged bytes inside"
        " those cannot be detected"
        if missing
        else ""
    )
    stdout.print(f"sound: {report.datasets} datasets checked ({report.checksummed} checksummed){note}")


@runs_cli.command("close")
def runs_close(run_path: Annotated[Path, typer.Argument(metavar="RUN.h5")]) -> None:
    """Mark a run whose writer died (killed, crashed) as failed, so it can be sampled again; only
    while no process is writing it."""
    from gkn_core.runs.reader import open_run
    from gkn_core.runs.recording import mark_failed

    with open_run(run_path) as run:
        status = run.status
    if status != "running":
        raise GKNError(f"{run_path} is {status}, not left running: nothing to close")
    if not mark_failed(run_path, "its writer ended without closing the file (killed or crashed)"):
        raise GKNError(f"cannot write {run_path}")
    stdout.print(f"failed: {run_path} (marked closed; it keeps everything up to its last flush)")


def export(
    run_paths: Annotated[
        list[Path],
        typer.Argument(metavar="RUN.h5 [RUN2.h5 ...|DIR]", help="Run files (several or a folder: scalars)."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write.")],
    what: Annotated[
        str, typer.Option(help="chains, samples, metrics, recording (chaos), scalars or weights.")
    ] = "chains",
    fmt: Annotated[
        str, typer.Option("--format", help="csv, npz, h5; scalars: csv, parquet; weights: safetensors.")
    ] = "csv",
    sampling: Annotated[int | None, typer.Option(help="Which sampling (0, 1, ...; default newest).")] = None,
    recording: Annotated[
        int | None, typer.Option(help="Which trajectory recording of a chaos run (default newest).")
    ] = None,
    checkpoint: Annotated[
        int | None, typer.Option(help="Weights of this checkpoint step (default newest).")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace OUT if it exists.")] = False,
) -> None:
    """Export chains, samples, training metrics, a chaos recording, every run's scalars as one long table
    (CSV or Parquet), or the trained network's weights (safetensors, its settings in the metadata)."""
    from gkn_core.runs.scalars import check_export_choice, export_scalars

    check_export_choice(what, fmt, len(run_paths))
    if what == "scalars":
        stdout.print(export_scalars(run_paths, fmt, out, overwrite))
        return
    run_path = run_paths[0]
    if what == "weights":
        from gkn_core.runs.reader import open_run
        from gkn_core.runs.weights import export_weights

        with open_run(run_path) as run:
            meta = export_weights(run, out, checkpoint, overwrite)
        stdout.print(f"wrote {out} ({meta['kind']} weights of step {meta['step']}, settings in the metadata)")
        return
    request = ExportRequest(
        run_path=run_path,
        out=out,
        what=what,
        fmt=fmt,
        sampling=sampling,
        recording=recording,
        overwrite=overwrite,
    )
    family(run_kind(run_path)).get("export")(request)


def register(cli: typer.Typer) -> None:
    """Add the commands for any run to the gkn CLI."""
    cli.command("sample")(sample)
    cli.add_typer(runs_cli, name="runs")
    cli.command("export")(export)
