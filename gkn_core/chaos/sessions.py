"""Set up recorded chaos jobs from settings: what the CLI (and later the app) calls."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gkn_core.chaos.config import ChaosConfig
from gkn_core.chaos.runfile import (
    ChaosRunWriter,
    load_chaos_model,
    record_chaos_sampling,
    record_chaos_training,
    sample_settings,
)
from gkn_core.chaos.sample import ChaosSampleSnapshot, ChaosSamplingJob
from gkn_core.chaos.train import ChaosTrainingJob, ChaosTrainSnapshot, load_chaos_dataset
from gkn_core.device import describe_device, resolve_device
from gkn_core.errors import GKNError
from gkn_core.runs.reader import open_run
from gkn_core.runs.writer import DEFAULT_FLUSH_INTERVAL


def chaos_training_session(
    config: ChaosConfig,
    out: str | Path,
    overwrite: bool = False,
    flush_interval: float = DEFAULT_FLUSH_INTERVAL,
    on_flush: Callable[[], None] | None = None,
) -> tuple[ChaosTrainingJob, Iterator[ChaosTrainSnapshot]]:
    """A chaos training job and the generator that runs it while writing `out`."""
    device = resolve_device(config.device)
    dataset = load_chaos_dataset(config.data)
    job = ChaosTrainingJob(config, dataset, device)
    shapes = {name: value.shape for name, value in job.checkpoint(0).weights.items()}
    writer = ChaosRunWriter.create(
        out, config, dataset, describe_device(device), overwrite, flush_interval, weights=shapes
    )
    writer.on_flush = on_flush
    return job, record_chaos_training(job, writer)


def chaos_sampling_session(
    run_path: str | Path,
    overrides: dict[str, Any] | None = None,
    device: str | None = None,
    flush_interval: float = DEFAULT_FLUSH_INTERVAL,
    on_flush: Callable[[], None] | None = None,
) -> tuple[ChaosSamplingJob, Iterator[ChaosSampleSnapshot]]:
    """Sample the newest checkpoint of a chaos run; samples and trajectories go into the same file."""
    with open_run(run_path) as run:
        if run.kind != "chaos":
            raise GKNError(f"{run_path} is a {run.kind} run; this sampling needs a chaos run")
        config = run.config
        settings = sample_settings({**config.sample.model_dump(), **(overrides or {})})
        model, step = load_chaos_model(run, device=resolve_device(device or config.device))
        n_before = len(run.sampling_names())
    seed = config.sampling_seed(settings.seed, n_before)
    job = ChaosSamplingJob(model, settings, seed)
    writer = ChaosRunWriter.append(run_path, flush_interval)
    writer.on_flush = on_flush
    return job, record_chaos_sampling(job, writer, seed, step)
