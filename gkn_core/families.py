"""THE registry of model families: run kind -> Family, and sweep kind -> SweepKind.

Everything that differs between the families is named here once; the CLI, the sweeps, the run
reader and the app look a kind up instead of comparing kind strings. Entries name their family's
code as "module:attribute" text, imported on first use, so importing this module imports no family
(and no torch): `gkn --help`, `gkn runs show` and the reader stay light.

A new family adds one `Family` (and its sweep kinds) to FAMILIES below; see docs/architecture.md.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from gkn_core.errors import ConfigError
from gkn_core.settings import preset_table_description, preset_table_names


def load(reference: str) -> Any:
    """The object a "module:attribute" reference names, imported now."""
    module_name, _, name = reference.partition(":")
    return getattr(importlib.import_module(module_name), name)


@dataclass(frozen=True)
class SweepKind:
    """One kind of sweep job: its settings model, its end metrics and how one job runs."""

    name: str
    family: str  # the run kind it belongs to
    config: str  # the pydantic model of one job's settings
    metrics: str  # dict of end metric name -> description
    default_metrics: tuple[str, ...]
    default_preset: str
    execute: str  # (gkn_core.job.SweepTask) -> (end metrics, device text)
    writes_run: bool = True  # False: the job only measures numbers, no run file
    base_settings: str | None = None  # (preset, overrides) -> raw settings; None: the family's presets

    def config_model(self) -> Any:
        return load(self.config)

    def metric_descriptions(self) -> dict[str, str]:
        return load(self.metrics)


@dataclass(frozen=True)
class Family:
    """A model family: its run kind and everything the shared layers ask of it."""

    kind: str
    title: str
    description: str
    presets_file: str  # in gkn_core/presets
    default_preset: str
    config: str  # the pydantic model of a run's /config
    run: str  # the Run class open_run returns for this kind (gkn_core.runs.reader.Run or a subclass)
    training_session: str  # (config, out, overwrite, flush_interval, on_flush) -> (job, snapshots)
    sampling_session: str  # (run_path, overrides, device, ...) -> (job, snapshots)
    commands: str  # (train_cli, cli) -> None: adds `gkn train KIND` and the family's own commands
    sample_cli: str  # (run_path, options, quiet) -> None: `gkn sample` on a run of this kind
    show: str  # (run) -> None: the `gkn runs show` table
    export: str  # (gkn_core.cli.common.ExportRequest) -> None: `gkn export` of a run of this kind
    weights_model: str  # (config, dim, tensors) -> the network with those weights (safetensors import)
    summary: str  # (run) -> gkn_core.runs.reader.RunSummary: the app's runs table row
    scalar_groups: tuple[str, ...]  # groups of 1-D series holding the run's scalars (W&B-style export)
    preset_label: str = "preset"  # what its presets are called in errors ("unknown chaos preset 'x'")
    sweeps: tuple[SweepKind, ...] = field(default_factory=tuple)

    def config_model(self) -> Any:
        return load(self.config)

    def run_class(self) -> Any:
        return load(self.run)

    def preset_names(self) -> list[str]:
        return preset_table_names(self.presets_file)

    def preset_description(self, name: str) -> str:
        return preset_table_description(self.presets_file, name)

    def get(self, part: str) -> Any:
        """One of the family's code entries (`training_session`, `show` ...), imported now."""
        return load(getattr(self, part))


GKN = Family(
    kind="gkn",
    title="Generative Kaleidoscopic Network",
    description="an MLP that learns x -> x, sampled by iterating it on noise",
    presets_file="gkn.toml",
    default_preset="1d",
    config="gkn_core.gkn.config:GKNConfig",
    run="gkn_core.gkn.runfile:GknRun",
    training_session="gkn_core.gkn.sessions:training_session",
    sampling_session="gkn_core.gkn.sessions:sampling_session",
    commands="gkn_core.cli.gkn:register",
    sample_cli="gkn_core.cli.gkn:sample_run",
    show="gkn_core.cli.gkn:show_run",
    export="gkn_core.cli.gkn:export_run_file",
    weights_model="gkn_core.gkn.model:model_from_weights",
    summary="gkn_core.gkn.runfile:run_summary",
    scalar_groups=("train/metrics",),
    sweeps=(
        SweepKind(
            name="gkn",
            family="gkn",
            config="gkn_core.gkn.config:GKNConfig",
            metrics="gkn_core.gkn.metrics:GKN_METRICS",
            default_metrics=(
                "final_loss",
                "best_loss",
                "one_step_capture",
                "one_step_capture_untrained",
                "flat_near_data",
                "flat_near_data_untrained",
                "balance",
                "median_steps",
            ),
            default_preset="1d",
            execute="gkn_core.gkn.metrics:run_sweep_job",
        ),
    ),
)

CHAOS = Family(
    kind="chaos",
    title="chaotic RNN",
    description="a chaotic recurrent network whose own dynamics generate samples",
    presets_file="chaos.toml",
    default_preset="digits8",
    config="gkn_core.chaos.config:ChaosConfig",
    run="gkn_core.runs.reader:Run",
    training_session="gkn_core.chaos.sessions:chaos_training_session",
    sampling_session="gkn_core.chaos.sessions:chaos_sampling_session",
    commands="gkn_core.cli.chaos:register",
    sample_cli="gkn_core.cli.chaos:sample_chaos_run",
    show="gkn_core.cli.chaos:show_chaos_run",
    export="gkn_core.cli.chaos:export_chaos_run",
    weights_model="gkn_core.chaos.models:model_from_weights",
    summary="gkn_core.chaos.runfile:run_summary",
    scalar_groups=("train/metrics", "train/scores", "train/lyapunov"),
    preset_label="chaos preset",
    sweeps=(
        SweepKind(
            name="chaos",
            family="chaos",
            config="gkn_core.chaos.config:ChaosConfig",
            metrics="gkn_core.chaos.metrics:CHAOS_METRICS",
            default_metrics=(
                "E2",
                "Es",
                "ER",
                "AAI",
                "digit",
                "digit_entropy",
                "lyapunov_before",
                "lyapunov_after",
            ),
            default_preset="digits8",
            execute="gkn_core.chaos.metrics:run_sweep_job",
        ),
        SweepKind(
            name="lyapunov",
            family="chaos",
            config="gkn_core.chaos.metrics:LyapunovJobConfig",
            metrics="gkn_core.chaos.metrics:LYAPUNOV_METRICS",
            default_metrics=("largest",),
            default_preset="digits8",
            execute="gkn_core.chaos.metrics:run_lyapunov_job",
            writes_run=False,
            base_settings="gkn_core.chaos.metrics:untrained_base_settings",
        ),
    ),
)

FAMILIES: dict[str, Family] = {family.kind: family for family in (GKN, CHAOS)}
KINDS: tuple[str, ...] = tuple(FAMILIES)
SWEEP_KINDS: dict[str, SweepKind] = {s.name: s for family in FAMILIES.values() for s in family.sweeps}


class _MetricTable(Mapping[str, dict[str, str]]):
    """Sweep kind -> {end metric: description}, each family's table loaded when first asked for."""

    def __getitem__(self, kind: str) -> dict[str, str]:
        return SWEEP_KINDS[kind].metric_descriptions()

    def __iter__(self) -> Iterator[str]:
        return iter(SWEEP_KINDS)

    def __len__(self) -> int:
        return len(SWEEP_KINDS)


METRICS: Mapping[str, dict[str, str]] = _MetricTable()


def family(kind: str) -> Family:
    """The family of a run kind; ConfigError with one line for a kind no family has."""
    try:
        return FAMILIES[kind]
    except KeyError:
        raise ConfigError(f"unknown run kind {kind!r} (known: {', '.join(KINDS)})") from None


def sweep_kind(name: str) -> SweepKind:
    try:
        return SWEEP_KINDS[name]
    except KeyError:
        known = ", ".join(SWEEP_KINDS)
        raise ConfigError(f"kind: unknown sweep kind {name!r} (known: {known})") from None
