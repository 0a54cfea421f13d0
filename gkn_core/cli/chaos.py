"""The chaos commands of `gkn`: `gkn train chaos`, `gkn lyapunov`, and chaos runs in `gkn sample`.

`register(train_cli, cli)` adds them to the typer apps of gkn_core.cli. Errors are GKNError lines,
as everywhere in the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from gkn_core.chaos.config import (
    LARGEST_EXPONENT_CHAINS,
    LARGEST_EXPONENT_STEPS,
    Architecture,
    chaos_preset_names,
)
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
from gkn_core.errors import ConfigError, GKNError

CHAOS_DATA = ("digits8", "mnist", "fashion", "fashion8")


def chaos_data_overrides(data: str | None, limit: int | None) -> dict[str, Any]:
    section: dict[str, Any] = {}
    if data is not None:
        section.update({"path": None, **data_source(data, CHAOS_DATA)})
    if limit is not None:
        section["limit"] = limit
    return section


CHAOS_TRAIN_OPTIONS = (
    SettingOption("arch", "model.arch", Architecture, "unrestricted, restricted2 or restricted3."),
    SettingOption("nh", "model.Nh", int, "Hidden units Nh.", ("--nh",)),
    SettingOption("nh2", "model.Nh2", int, "Second hidden layer Nh2 (restricted3).", ("--nh2",)),
    SettingOption("g", "model.g", float, "Gain of the random couplings.", ("--g",)),
    SettingOption("tau", "model.tau", float, "Time constant tau."),
    SettingOption("dt", "model.dt", float, "Euler step dt."),
    SettingOption("T", "model.T", float, "Duration of each phase.", ("--T",)),
    SettingOption("k", "train.k", float, "Learning rate k.", ("--k",)),
    SettingOption("M", "train.M", int, "Minibatch size M.", ("--M",)),
    SettingOption("steps", "train.steps", int, "Training steps (updates)."),
    SettingOption("lyapunov_every", "train.lyapunov_every", int, "Largest exponent every N steps."),
    SettingOption("sample_every", "train.sample_every", int, "Keep a grid of samples every N steps."),
    SettingOption("metrics_every", "train.metrics_every", int, "Scores every N steps."),
)


@with_setting_options(*CHAOS_TRAIN_OPTIONS)
def train_chaos(
    out: RunOut,
    preset: Annotated[str | None, typer.Option(help=f"Settings: {', '.join(chaos_preset_names())}.")] = None,
    from_run: FromRun = None,
    config_file: ConfigFile = None,
    data: Annotated[
        str | None, typer.Option(help=f"{', '.join(CHAOS_DATA)}, or an image file (IDX or .npz).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Use only the first N images.")] = None,
    settings: dict[str, Any] | None = None,
    seed: Annotated[int | None, typer.Option(help="Seed of couplings, batches and states.")] = None,
    device: Device = None,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Train a chaotic RNN generative model by contrastive Hebbian learning."""
    from gkn_core.chaos.sessions import chaos_training_session
    from gkn_core.runs.reader import open_run

    sections = {**(settings or {}), "data": chaos_data_overrides(data, limit)}
    config = settings_from_options("chaos", preset, from_run, config_file, seed, device, sections)
    job, snapshots = chaos_training_session(config, out, overwrite)
    last_scores: dict[str, float] = {}

    def shown(snap: Any) -> str:
        if snap.scores:
            last_scores.update(snap.scores)
        return f"gap {snap.gap:.3g}" + (f" E2 {last_scores['E2']:.3g}" if last_scores else "")

    follow_job(job, snapshots, f"train chaos {config.preset or 'run'}", quiet, shown, every=10)
    with open_run(out) as run:
        status, where = run.status, run.info.get("device")
    line = f"{status}: {out} ({job.steps_done} steps, {where}"
    if last_scores:
        line += f", E2 {last_scores['E2']:.3g}, AAI {last_scores['AAI']:.3f}"
    after, before = job.class_scores()  # the trained network and its untrained baseline, same chains
    if not after.scored:
        line += f"; {after.reason}"
    elif job.steps_done:
        line += (
            f", {after.name} {after.fraction:.2f} (entropy {after.entropy:.2f} of 2.30; "
            f"untrained {before.fraction:.2f}, entropy {before.entropy:.2f})"
        )
    stdout.print(line + ")")


SPECTRUM_OPTIONS = (
    SettingOption(
        "exponents", "exponents", int, "How many of the largest exponents (default: every unit, at most 128)."
    ),
    SettingOption("steps", "steps", int, f"Euler steps averaged over (default {LARGEST_EXPONENT_STEPS})."),
    SettingOption("transient", "transient", int, "Steps discarded first (default: one phase T/dt)."),
    SettingOption(
        "chains", "chains", int, f"Trajectories (initial states; default {LARGEST_EXPONENT_CHAINS})."
    ),
    SettingOption("renorm_every", "renorm_every", int, "QR every N steps (default 1)."),
)


@with_setting_options(*SPECTRUM_OPTIONS)
def lyapunov(
    run_path: Annotated[
        Path | None, typer.Argument(metavar="[RUN.h5]", help="A chaos run; leave out with --untrained.")
    ] = None,
    settings: dict[str, Any] | None = None,
    local_window: Annotated[
        int | None, typer.Option(help="Also the finite-time largest exponent over windows of N steps.")
    ] = None,
    checkpoint: Annotated[int | None, typer.Option(help="Checkpoint step (default: newest).")] = None,
    untrained: Annotated[
        bool, typer.Option(help="A fresh network of the given size and g instead of a run.")
    ] = False,
    arch: Annotated[Architecture, typer.Option(help="Architecture (--untrained).")] = "restricted2",
    nv: Annotated[int, typer.Option("--nv", help="Visible units (--untrained).")] = 784,
    nh: Annotated[int, typer.Option("--nh", help="Hidden units (--untrained).")] = 500,
    nh2: Annotated[int, typer.Option("--nh2", help="Second hidden layer (--untrained, restricted3).")] = 500,
    g: Annotated[
        str, typer.Option("--g", help="Gain(s), comma-separated (--untrained), e.g. 0.8,1.5,2.")
    ] = "1.5",
    tau: Annotated[float, typer.Option(help="Time constant (--untrained).")] = 10.0,
    dt: Annotated[float, typer.Option(help="Euler step (--untrained).")] = 1.0,
    seed: Annotated[int | None, typer.Option(help="Seed of states (couplings); default: run's.")] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda, cuda:N.")] = None,
) -> None:
    """Lyapunov spectrum (per tau) of a trained chaos run or of an untrained network."""
    import torch

    from gkn_core.chaos.analysis import (
        SpectrumSettings,
        largest_exponent,
        network_local_largest,
        network_spectrum,
    )
    from gkn_core.lyapunov import kaplan_yorke_dimension, participation_ratio
    from gkn_core.settings import validate_section

    spectrum_settings = validate_section(SpectrumSettings, settings or {}, "lyapunov")
    untrained_model = {"arch": arch, "Nh": nh, "Nh2": nh2, "tau": tau, "dt": dt} if untrained else None
    models, seed = spectrum_models(run_path, untrained_model, nv, g, checkpoint, seed, device)
    s = spectrum_settings
    k = s.exponents_for(models[0][1].dim)
    table = Table("network", "largest", f"top {k} (per tau)", "PR", "KY dim")
    locals_: list[tuple[str, Any]] = []
    steps = s.steps
    for name, model in models:
        k, skip = s.exponents_for(model.dim), s.transient_for(model)
        spectrum = network_spectrum(model, k, steps, skip, s.chains, s.renorm_every, seed)
        locals_.append((name, largest_exponent(model, steps, skip, s.chains, seed)))
        mean = spectrum.mean(0)
        shown = ", ".join(f"{v:.3f}" for v in mean[:8].tolist()) + (" ..." if k > 8 else "")
        table.add_row(
            name,
            f"{mean[0]:+.4f}",
            shown,
            f"{float(participation_ratio(mean)):.2f}",
            f"{float(kaplan_yorke_dimension(mean)):.2f}",
        )
        if local_window is not None:
            if local_window < 1 or local_window > steps:
                raise GKNError(f"--local-window: must be between 1 and --steps ({steps})")
            local = network_local_largest(model, local_window, steps // local_window, skip, s.chains, seed)
            locals_.append((name, local))
    stdout.print(table)
    for name, local in locals_:
        if not isinstance(local, torch.Tensor):  # the estimate of the training curve and the app
            stdout.print(f"largest exponent of {name}: {local.value:+.10f}; {local.describe()}")
            continue
        over_time = local.mean(0)
        stdout.print(
            f"local largest exponent of {name}, per tau, over {local.shape[1]} windows: mean "
            f"{float(over_time.mean()):+.4f}, min {float(local.min()):+.4f}, max {float(local.max()):+.4f}; "
            "by window: " + " ".join(f"{v:+.3f}" for v in over_time.tolist()[:20])
        )


def spectrum_models(
    run_path: Path | None,
    untrained: dict[str, Any] | None,
    nv: int,
    g: str,
    checkpoint: int | None,
    seed: int | None,
    device: str | None,
) -> tuple[list[tuple[str, Any]], int]:
    """The networks `gkn lyapunov` measures, named, and the seed of their states: the run's at a
    checkpoint, or fresh ones of the `untrained` model settings at each gain of g ("0.8,1.5")."""
    from gkn_core.chaos.config import ChaosModelConfig
    from gkn_core.chaos.models import build_chaos_model
    from gkn_core.chaos.runfile import load_chaos_model
    from gkn_core.device import resolve_device
    from gkn_core.runs.reader import open_run
    from gkn_core.settings import validate_section

    models: list[tuple[str, Any]] = []
    if untrained is not None:
        if run_path is not None:
            raise GKNError("give either RUN.h5 or --untrained, not both")
        try:
            gains = [float(v) for v in g.split(",") if v.strip()]
        except ValueError:
            raise GKNError(f"--g: cannot read {g!r} as numbers (e.g. 0.8,1.5,2)") from None
        torch_device = resolve_device(device or "auto")
        seed = 0 if seed is None else seed
        for gain in gains:
            settings = validate_section(ChaosModelConfig, {**untrained, "g": gain}, "model")
            if nv < 1:
                raise ConfigError(f"--nv: must be >= 1 (got {nv})")
            models.append(
                (
                    f"untrained {settings.arch} Nv={nv} g={gain:g}",
                    build_chaos_model(settings, nv, torch_device, seed),
                )
            )
    else:
        if run_path is None:
            raise GKNError("give a chaos run file, or --untrained with sizes and g")
        with open_run(run_path) as run:
            torch_device = resolve_device(device or run.config.device)
            model, step = load_chaos_model(run, checkpoint, torch_device)
            seed = run.config.seed if seed is None else seed
            models.append((f"{run_path} at step {step} (g={run.config.model.g:g})", model))
    return models, seed


def sample_chaos_run(run_path: Path, options: dict[str, Any], quiet: bool) -> None:
    """`gkn sample` on a chaos run: samples of its own noise-free dynamics (gkn-only options refused),
    or with --score-times every score at those sampling times (gkn_core.cli.chaos_scores)."""
    unused = [name for name in ("noise", "noise_law", "burn_in", "start") if options.get(name) is not None]
    if unused:
        raise GKNError(
            f"--{unused[0].replace('_', '-')} does not apply to a chaos run (its dynamics are noise-free)"
        )
    from gkn_core.cli.chaos_scores import sample_score_times

    if options.get("score_times") is not None:
        sample_score_times(run_path, options, quiet)
        return
    if options.get("score_samples") is not None:
        raise GKNError("--score-samples goes with --score-times (e.g. --score-times 10,25,50,100,200,400)")
    chains, steps, seed, device = (options[k] for k in ("chains", "steps", "seed", "device"))
    from gkn_core.chaos.sessions import chaos_sampling_session
    from gkn_core.runs.reader import open_run

    with open_run(run_path) as run:
        dt = run.config.model.dt
    changes = drop_none({"n": chains, "T": None if steps is None else steps * dt, "seed": seed})
    job, snapshots = chaos_sampling_session(run_path, changes, device)
    follow_job(job, snapshots, "sample chaos", quiet, lambda s: f"|phi(v)| {s.activity:.3g}")
    with open_run(run_path) as run:
        name = run.sampling_names()[-1]
        status = run.state("status", f"sampling/{name}")
    stdout.print(
        f"{status}: sampling {name} in {run_path}: {job.settings.n} samples after {job.steps_done} steps"
    )


def show_chaos_run(run: Any) -> None:
    """The `gkn runs show` table of a chaos run."""
    from gkn_core.chaos.runfile import RECORDINGS, chaos_series, recording_names

    m, t = run.config.model, run.config.train
    hidden = f"Nh={m.Nh}" + (f" Nh2={m.Nh2}" if m.arch == "restricted3" else "")
    model = f"{m.arch} Nv={run.dim} {hidden} g={m.g:g} tau={m.tau:g} dt={m.dt:g} T={m.T:g}"
    table = run_table(run, "[-1, 1]", model, f"{t.steps} steps, k {t.k:g}, M {t.M}")
    scores = chaos_series(run, "train/scores")
    if scores and len(scores["step"]):
        table.add_row(
            "scores",
            f"E2 {scores['E2'][0]:.3g} -> {scores['E2'][-1]:.3g}, AAI {scores['AAI'][0]:.3f} -> "
            f"{scores['AAI'][-1]:.3f} (step {scores['step'][-1]})",
        )
    lyap = chaos_series(run, "train/lyapunov")
    if lyap and len(lyap["step"]):
        table.add_row("largest exponent", f"{lyap['largest'][0]:+.4f} -> {lyap['largest'][-1]:+.4f} per tau")
    table.add_row("checkpoints", ", ".join(map(str, run.checkpoint_steps())) or "none")
    for name in recording_names(run):
        group = run.file[f"{RECORDINGS}/{name}"]
        chains, frames, units = run.dataset(f"{RECORDINGS}/{name}/states").shape
        table.add_row(
            f"recording {name}",
            f"{group.attrs.get('source', '?')}: {chains} chains x {frames} frames x {units} units",
        )
    for name in run.sampling_names():
        table.add_row(
            f"sampling {name}",
            f"{run.state('status', f'sampling/{name}', '?')}: trajectories "
            + "x".join(map(str, run.dataset(f"sampling/{name}/trajectories").shape)),
        )
    stdout.print(table)
    from gkn_core.cli.chaos_scores import show_score_times

    show_score_times(run)


def export_chaos_run(request: ExportRequest) -> None:
    """`gkn export --what chains|samples|recording` of a chaos run: the trajectories of a sampling,
    its samples, or a trajectory recording of the Dynamics view; the training metrics are exported as
    for every run."""
    from gkn_core.chaos.runfile import export_arrays
    from gkn_core.gkn.export import export_run
    from gkn_core.runs.export import check_output_path, write_arrays
    from gkn_core.runs.reader import open_run

    r = request
    with open_run(r.run_path) as run:
        if r.what == "metrics":
            wrote(r.out, export_run(run, "metrics", r.fmt, r.out, r.sampling, r.overwrite))  # type: ignore[arg-type]
            return
        check_output_path(r.out, r.overwrite)
        if r.what == "recording":
            from gkn_core.chaos.recordings import export_recording, read_recording

            wrote(r.out, export_recording(read_recording(run, r.recording), r.fmt, r.out, r.overwrite))
            return
        arrays = export_arrays(run, r.what, r.sampling)
    write_arrays(r.out, r.what, r.fmt, arrays, r.run_path)
    wrote(r.out, {k: v.shape for k, v in arrays.items()})


def register(train_cli: typer.Typer, cli: typer.Typer) -> None:
    """Add the chaos commands to the gkn CLI."""
    train_cli.command("chaos")(train_chaos)
    cli.command("lyapunov")(lyapunov)
    cli.command("chaos-presets")(presets_command("chaos", "chaos presets"))
