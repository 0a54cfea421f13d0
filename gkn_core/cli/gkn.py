"""The GKN commands of `gkn`: `gkn train gkn`, and gkn runs in `gkn sample`, `gkn runs show`, `gkn export`
and `gkn presets` (reached through gkn_core.families). No torch at import: the jobs load it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from gkn_core.cli.common import (
    ExportRequest,
    data_source,
    drop_none,
    follow_job,
    presets_command,
    run_table,
    settings_from_options,
    stdout,
    wrote,
)
from gkn_core.cli.options import ConfigFile, Device, FromRun, Overwrite, Quiet, RunOut
from gkn_core.cli.setting_options import SettingOption, with_setting_options
from gkn_core.errors import GKNError
from gkn_core.gkn.config import (
    Activation,
    ValueRange,
    parse_points,
    preset_names,
)

KNOWN_DATA = ("digits8", "mnist", "fashion", "fashion8", "uniform", "blobs", "ring", "moons")


def data_overrides(
    data: str | None, points: str | None, value_range: str | None, n: int | None, dim: int | None
) -> dict[str, Any]:
    section: dict[str, Any] = {}
    if data is not None and points is not None:
        raise GKNError("give either --data or --points, not both")
    if points is not None:
        section.update(source="points", points=parse_points(points))
    elif data is not None:
        section.update(points=None, **data_source(data, KNOWN_DATA))
    for key, value in (("value_range", value_range), ("n", n), ("dim", dim)):
        if value is not None:
            section[key] = value
    return section


GKN_TRAIN_OPTIONS = (
    SettingOption("layers", "model.layers", int, "Number of Linear layers L."),
    SettingOption("hidden", "model.hidden", int, "Hidden width H."),
    SettingOption("activation", "model.activation", Activation, "Hidden activation."),
    SettingOption("steps", "train.steps", int, "Optimizer steps."),
    SettingOption("lr", "train.lr", float, "Adam learning rate."),
    SettingOption("batch_size", "train.batch_size", int, "Minibatch size (default: preset)."),
    SettingOption(
        "keep_best",
        "train.keep_best",
        bool,
        "Keep the best-loss weights or the last.",
        ("--keep-best/--keep-last",),
    ),
    SettingOption("limit", "data.limit", int, "Use only the first N images."),
)


@with_setting_options(*GKN_TRAIN_OPTIONS)
def train_gkn(
    out: RunOut,
    preset: Annotated[
        str | None, typer.Option(help=f"Starting settings: {', '.join(preset_names())} (default 1d).")
    ] = None,
    from_run: FromRun = None,
    config_file: ConfigFile = None,
    settings: dict[str, Any] | None = None,
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
    seed: Annotated[int | None, typer.Option(help="Seed of weights, batches and data.")] = None,
    device: Device = None,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Train a Generative Kaleidoscopic Network (an MLP that learns x -> x)."""
    from gkn_core.gkn.sessions import training_session
    from gkn_core.runs.reader import open_run

    sections = settings or {}
    sections["data"] = {**data_overrides(data, points, value_range, n, dim), **sections.get("data", {})}
    config = settings_from_options("gkn", preset, from_run, config_file, seed, device, sections)
    job, snapshots = training_session(config, out, overwrite)
    label = f"train {config.preset or 'run'}"
    follow_job(job, snapshots, label, quiet, lambda snap: f"loss {snap.loss:.3g}", every=10)
    with open_run(out) as run:
        stdout.print(
            f"{run.status}: {out} ({job.steps_done} steps, best loss {job.best_loss:.4g}, "
            f"{run.info.get('device')})"
        )


def sample_run(run_path: Path, options: dict[str, Any], quiet: bool) -> None:
    """`gkn sample` on a gkn run: kaleidoscopic chains, added to the run."""
    from gkn_core.gkn.sessions import sampling_session
    from gkn_core.runs.reader import open_run

    device = options.pop("device")
    if options.pop("score_times", None) is not None or options.pop("score_samples", None) is not None:
        raise GKNError(
            "--score-times and --score-samples are for chaos runs; a gkn run's samplings record their "
            "class score at every generation (gkn runs show)"
        )
    job, snapshots = sampling_session(run_path, drop_none(options), device)
    last = follow_job(job, snapshots, "sample", quiet, lambda s: f"moved {s.movement:.3g}")
    with open_run(run_path) as run:
        record = run.sampling(read_chains=False)  # the counts only: the chains stay on disk
    distance = "" if last is None else f", distance to data {last.data_distance:.3g}"
    stdout.print(
        f"{record.status}: sampling {record.name} in {run_path}: {record.chains.shape[0]} chains x "
        f"{record.generations - 1} steps{distance}"
    )


def show_run(run: Any) -> None:
    """The `gkn runs show` table of a gkn run."""
    m, t = run.config.model, run.config.train
    table = run_table(
        run,
        f"[{run.data_range[0]:g}, {run.data_range[1]:g}]",
        f"L={m.layers} H={m.hidden} {m.activation}",
        f"{t.steps} steps, lr {t.lr:g}, batch {t.batch_size or 'full'}",
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
        record = run.sampling(name, read_chains=False)
        s = record.settings
        table.add_row(
            f"sampling {name}",
            f"{record.status}: {record.chains.shape[0]} chains x "
            f"{record.generations - 1} steps, noise {s.noise:g} "
            f"{s.noise_law}, burn-in {s.burn_in}",
        )
        if record.quality is not None and run.image_shape is not None:
            table.add_row(f"  class score {name}", describe_quality(record))
    stdout.print(table)


def shown_generations(count: int, most: int = 7) -> list[int]:
    """Generations to print of a curve of `count`: 0, 1 and about log-spaced ones up to the last."""
    if count <= most:
        return list(range(count))
    spaced = np.unique(np.round(np.geomspace(1, count - 1, most - 1)).astype(int))
    return [0, *spaced.tolist()]


def describe_quality(record: Any) -> str:
    """The class-score curve of a sampling in one cell: the score and classes seen at a few generations."""
    if not record.has_quality:
        return "no class score recorded (a sampling made before samplings were scored)"
    q = record.quality
    if record.quality_reason:
        return record.quality_reason
    score, seen, entropy = q["class_score"], q["classes_seen"], q["class_entropy"]
    cells = [
        f"gen {g}: {score[g]:.2f} ({int(seen[g])} classes, H {entropy[g]:.2f})"
        for g in shown_generations(len(q["generation"]))
    ]
    return f"{record.quality_name} (confident share), by generation: " + "; ".join(cells)


def export_run_file(request: ExportRequest) -> None:
    """`gkn export` of a gkn run: chains, samples or training metrics."""
    from gkn_core.gkn.export import export_run
    from gkn_core.runs.reader import open_run

    r = request
    if r.what == "recording":
        raise GKNError(f"{r.run_path} is a gkn run; trajectory recordings belong to chaos runs")
    with open_run(r.run_path) as run:
        shapes = export_run(run, r.what, r.fmt, r.out, r.sampling, r.overwrite)  # type: ignore[arg-type]
    wrote(r.out, shapes)


def register(train_cli: typer.Typer, cli: typer.Typer) -> None:
    """Add the GKN commands to the gkn CLI."""
    train_cli.command("gkn")(train_gkn)
    cli.command("presets")(presets_command("gkn", "presets"))
