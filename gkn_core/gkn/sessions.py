"""Set up a recorded job from settings: what the CLI, the app and the sweep runner all call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from gkn_core.device import describe_device, resolve_device
from gkn_core.errors import ConfigError, GKNError
from gkn_core.gkn.config import GKNConfig, SampleConfig
from gkn_core.gkn.data import load_dataset
from gkn_core.gkn.runfile import GknRunWriter, record_sampling, record_training
from gkn_core.gkn.sample import KaleidoscopeSamplingJob, SampleSnapshot
from gkn_core.gkn.sample_quality import generation_scorer
from gkn_core.gkn.train import GKNTrainingJob, TrainSnapshot
from gkn_core.runs.disk import room_for_writing
from gkn_core.runs.reader import open_run
from gkn_core.runs.writer import DEFAULT_FLUSH_INTERVAL
from gkn_core.settings import validate_section


def training_session(
    config: GKNConfig,
    out: str | Path,
    overwrite: bool = False,
    flush_interval: float = DEFAULT_FLUSH_INTERVAL,
    on_flush: Callable[[], None] | None = None,
) -> tuple[GKNTrainingJob, Iterator[TrainSnapshot]]:
    """A training job and the generator that runs it while writing `out`."""
    device = resolve_device(config.device)
    dataset = load_dataset(config.data, config.seed)
    job = GKNTrainingJob(config, dataset, device)
    shapes = {name: value.shape for name, value in job.best_checkpoint().weights.items()}
    writer = GknRunWriter.create(
        out,
        config,
        dataset,
        describe_device(device),
        overwrite,
        flush_interval=flush_interval,
        weights=shapes,
    )
    writer.on_flush = on_flush
    return job, record_training(job, writer)


def sampling_session(
    run_path: str | Path,
    overrides: dict[str, Any] | None = None,
    device: str | None = None,
    starts: np.ndarray | None = None,
    flush_interval: float = DEFAULT_FLUSH_INTERVAL,
    on_flush: Callable[[], None] | None = None,
) -> tuple[KaleidoscopeSamplingJob, Iterator[SampleSnapshot]]:
    """Sample the newest checkpoint of a run; the chains are appended to the same file."""
    with open_run(run_path) as run:
        if run.kind != "gkn":
            raise GKNError(f"{run_path} is a {run.kind} run; kaleidoscopic sampling needs a gkn run")
        config = run.config
        settings: SampleConfig = validate_section(
            SampleConfig, {**config.sample.model_dump(), **(overrides or {})}, "sample"
        )
        torch_device = resolve_device(device or config.device)
        model = run.load_model(device=torch_device)
        checkpoint_step = run.checkpoint_steps()[-1]
        low, high = run.data_range
        reference = run.training_data()
        n_before = len(run.sampling_names())
        image_shape = run.image_shape
    if reference is None:
        reference = load_dataset(config.data, config.seed).x
    seed = config.sampling_seed(settings.seed, n_before)
    scorer = generation_scorer(config.data.source, config.data.value_range, image_shape)
    job = KaleidoscopeSamplingJob(model, settings, low, high, seed, reference, starts, scorer)
    check_room_for_chains(Path(run_path), job.n_chains * (job.total_steps + 1) * job.dim * 4)
    writer = GknRunWriter.append(run_path, flush_interval)
    writer.on_flush = on_flush
    return job, record_sampling(job, writer, seed, checkpoint_step)


def check_room_for_chains(run_path: Path, nbytes: int) -> None:
    """Refuse, before anything is written, chains the run file's disk cannot hold (the job keeps only
    the newest states, so the disk, not memory, bounds a sampling)."""
    free = room_for_writing(run_path, run_path.stat().st_size)
    if nbytes > free:
        raise ConfigError(
            f"recording these chains needs about {nbytes / 1e9:,.1f} GB on disk but {run_path.parent} "
            f"has {free / 1e9:,.1f} GB free; choose fewer chains or steps"
        )
