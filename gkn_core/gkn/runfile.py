"""The GKN parts of a run file (kind "gkn"; docs/run-format.md): the reader adds manifolds, the
samplings' chains and the network; the writer adds the training rows, manifold frames and chains.

Importing this module imports no torch (`gkn runs show` reads GKN runs without it); the network is
built only by `GknRun.load_model`, and the job types only annotate.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np
from pydantic import BaseModel, ValidationError

from gkn_core.class_score import ClassScore
from gkn_core.data import Dataset
from gkn_core.errors import JobFailed, RunFileError
from gkn_core.gkn.config import SampleConfig
from gkn_core.job import Checkpoint
from gkn_core.runs.h5util import append_rows, create_checked, growing_series, growing_stack, read_checked
from gkn_core.runs.layout import create_chain_stack, create_final_rows, final_rows_written
from gkn_core.runs.reader import Run, RunSummary, reads_file, weights_mismatch
from gkn_core.runs.recording import recorded_sampling, recorded_training
from gkn_core.runs.writer import RunWriter
from gkn_core.settings import describe_validation_error

if TYPE_CHECKING:
    import torch

    from gkn_core.gkn.manifolds import Manifold1D, Manifold2D
    from gkn_core.gkn.model import KaleidoscopeMLP
    from gkn_core.gkn.sample import KaleidoscopeSamplingJob, SampleSnapshot
    from gkn_core.gkn.train import GKNTrainingJob, TrainSnapshot

TRAIN_SERIES = {"step": np.int64, "loss": np.float64, "best_loss": np.float64, "elapsed": np.float64}
SAMPLE_SERIES = {"step": np.int64, "movement": np.float64, "data_distance": np.float64}
# The class score of every generation of an image sampling (gkn_core.gkn.sample_quality), generation
# 0 (the starts) included: /sampling/<nnnn>/quality, one row per generation.
QUALITY = "quality"
QUALITY_SERIES = {
    "generation": np.int64,
    "class_score": np.float64,  # share of states a real class wins with p > 0.9 (ClassScore.fraction)
    "class_entropy": np.float64,  # entropy of those states' class histogram (nats; ln 10 = all ten)
    "classes_seen": np.int64,  # classes with at least one confident state
    "reject": np.float64,  # share whose winning class is "not a digit" / "not an item"
}
STATE_BLOCK_BYTES = 4 << 20  # chain states waiting in memory: at most about this (one block), or one step


def manifold_bytes(manifold: Manifold1D | Manifold2D) -> int:
    return sum(value.nbytes for value in vars(manifold).values() if isinstance(value, np.ndarray))


# -- reading -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SamplingRecord:
    name: str
    settings: SampleConfig
    seed: int
    checkpoint_step: int
    status: str
    failure_reason: str
    chains: np.ndarray  # (n_chains, steps + 1, d), start included; no generations if not read
    samples: np.ndarray | None  # (n_chains, d) last states, once the sampling ended
    metrics: dict[str, np.ndarray]
    generations: int = 0  # generations recorded, the start included (chains.shape[1] once read)
    # QUALITY_SERIES by generation, cut to `generations`; empty: none recorded (toy data, older files)
    quality: dict[str, np.ndarray] | None = None
    quality_name: str = ""  # "digit score", "item score" or "no class score"
    quality_reason: str = ""  # why there is no class score ("" when there is one)

    @property
    def has_quality(self) -> bool:
        return bool(self.quality) and len(self.quality["generation"]) > 0


class GknRun(Run):
    """An open GKN run file."""

    TRAIN_SERIES_REQUIRED = ("step", "loss", "best_loss")

    @reads_file
    def manifolds(self) -> dict[str, np.ndarray]:
        """Manifold frames over training, cut to the frames every stack holds.

        1D: 'step', 'x', 'fx', 'loss'. 2D: 'step', 'xs', 'ys', 'loss', 'displacement'.
        """
        if "train/manifolds" not in self.file:
            return {}
        group = self.file["train/manifolds"]
        one_d = group.attrs.get("kind", "1d") == "1d"
        names = ("step", "x", "fx", "loss") if one_d else ("step", "xs", "ys", "loss", "displacement")
        axes = {"step": 1, "x": 1, "xs": 1, "ys": 1, "fx": 2, "loss": 2 if one_d else 3, "displacement": 4}
        frames = {name: self.numbers(f"train/manifolds/{name}", axes[name]) for name in names}
        stacked = [k for k in ("step", "fx", "loss", "displacement") if k in frames]
        count = min(len(frames[k]) for k in stacked)
        count = min(count, self.records_saved(frames["step"][:count]))
        return {k: (v[:count] if k in stacked else v) for k, v in frames.items()}

    @reads_file
    def load_model(self, step: int | None = None, device: torch.device | str = "cpu") -> KaleidoscopeMLP:
        """The network of the newest checkpoint (or of `step`), ready to evaluate."""
        import torch

        from gkn_core.gkn.model import build_model, parameter_count
        from gkn_core.job import ensure_memory

        ensure_memory(4 * parameter_count(self.dim, self.config.model), device, "this run's model")
        checkpoint = self.checkpoint(step)
        model = build_model(self.dim, self.config.model, self.config.data.value_range)
        expected = {name: tuple(value.shape) for name, value in model.state_dict().items()}
        problem = weights_mismatch(expected, {k: np.shape(v) for k, v in checkpoint.weights.items()})
        if problem is not None:
            raise RunFileError(
                f"{self.path}: checkpoint {checkpoint.step} does not fit the stored model settings "
                f"({problem})"
            )
        state = {k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in checkpoint.weights.items()}
        model.load_state_dict(state)
        return model.to(device).eval()

    @reads_file
    def sampling_chains(self, name: str) -> h5py.Dataset:
        """The chains dataset of one sampling, (n_chains, generations, d), unread: a caller that keeps
        a few generations of a long sampling reads only those (h5py slices)."""
        where = f"sampling/{name}/chains"
        dataset = self.dataset(where)
        if dataset.dtype.kind not in "biuf" or dataset.ndim != 3:
            raise RunFileError(f"{self.path}: {where} has shape {dataset.shape}; expected 3 numeric axes")
        return dataset

    @reads_file
    def sampling(self, name: str | int | None = None, read_chains: bool = True) -> SamplingRecord:
        """One sampling session; the newest when `name` is None; an int is an index. read_chains:
        False leaves the chains unread (`sampling_chains` reads them in pieces)."""
        empty = f"holds no sampling yet (run `gkn sample {self.path}`)"
        name = self.pick(self.sampling_names(), name, "sampling", empty)
        where = f"sampling/{name}"
        group = self.file[where]
        metrics = self.series(f"{where}/metrics") if "metrics" in group else {}
        dataset = self.sampling_chains(name)
        generations = dataset.shape[1]
        if "step" in metrics:  # a killed sampler may have grown chains past its last metric row
            generations = min(generations, len(metrics["step"]) + 1)
        if read_chains:
            chains = read_checked(self.path, dataset, np.s_[:, :generations])
        else:
            chains = np.empty((dataset.shape[0], 0, dataset.shape[2]), dataset.dtype)
        quality: dict[str, np.ndarray] = {}
        if QUALITY in group:
            quality = self.series(f"{where}/{QUALITY}", ("generation",))
            quality = {key: values[:generations] for key, values in quality.items()}
        attrs = group.attrs
        try:
            settings = SampleConfig.model_validate_json(attrs["json"])
        except ValidationError as exc:
            problem = describe_validation_error(exc)
            raise RunFileError(f"{self.path}: {where} holds invalid sampling settings: {problem}") from None
        return SamplingRecord(
            name=name,
            settings=settings,
            seed=int(attrs["seed"]),
            checkpoint_step=int(attrs["checkpoint_step"]),
            status=self.state("status", where, "unknown"),
            failure_reason=self.state("failure_reason", where),
            chains=chains,
            samples=self.numbers(f"{where}/samples", ndim=2) if final_rows_written(group) else None,
            metrics=metrics,
            generations=generations,
            quality=quality,
            quality_name=str(group[QUALITY].attrs.get("name", "")) if quality else "",
            quality_reason=str(group[QUALITY].attrs.get("reason", "")) if quality else "",
        )


# -- writing -----------------------------------------------------------------------------------------
def run_summary(run: GknRun) -> RunSummary:
    """The runs table's words on a gkn run: its network, learning rate and data; its best loss."""
    c = run.config
    settings = f"L={c.model.layers} H={c.model.hidden} lr={c.train.lr:g} data={c.data.source}"
    metrics = run.train_metrics()
    if not metrics or not len(metrics.get("best_loss", ())):
        return RunSummary(settings)
    best = float(metrics["best_loss"][-1])
    return RunSummary(settings, f"loss {best:.4g}", best)


class GknRunWriter(RunWriter):
    kind = "gkn"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Chain states go into one preallocated block (a chunk of the chains dataset): a full block is
        # written at once with a flush, so the states waiting in memory are bounded whatever the rate.
        self._block: np.ndarray | None = None  # (n_chains, steps per block, d)
        self._block_first = 0  # the generation of the block's first column
        self._block_fill = 0  # columns filled
        self._pending_manifolds: list[tuple[int, Manifold1D | Manifold2D]] = []
        self._quality: str | None = None  # the open sampling's quality group, if it scores generations

    def _create_datasets(self, config: BaseModel, dataset: Dataset) -> None:
        self._create_series("train/metrics", TRAIN_SERIES)
        if dataset.dim <= 2:  # toy data: manifold frames (the axes are written with the first frame)
            group = self.file.create_group("train/manifolds")
            grid = config.train.manifold_grid
            axes, frames = (
                (("x",), {"fx": (grid,), "loss": (grid,)})
                if dataset.dim == 1
                else (
                    ("xs", "ys"),
                    {"loss": (grid, grid), "displacement": (grid, grid, 2)},
                )
            )
            group.attrs["kind"] = f"{dataset.dim}d"
            for name in axes:
                create_checked(group, name, shape=(grid,), dtype=np.float32)
            for name, shape in frames.items():
                growing_stack(group, name, shape, np.float32)
            growing_series(group, "step", np.int64)

    def _pending_bytes(self) -> int:
        frames = sum(manifold_bytes(manifold) for _, manifold in self._pending_manifolds)
        states = 0 if self._block is None else self._block[:, : self._block_fill].nbytes
        return super()._pending_bytes() + frames + states

    def _drop_pending(self) -> None:
        super()._drop_pending()
        self._block_fill = 0
        self._pending_manifolds.clear()

    def _write_pending(self) -> None:
        super()._write_pending()
        if self._block is not None and self._block_fill and self._sampling is not None:
            first, fill = self._block_first, self._block_fill
            chains = self._sampling["chains"]
            chains.resize(first + fill, axis=1)
            chains[:, first:] = self._block[:, :fill]
            self._block_first, self._block_fill = first + fill, 0
        for step, manifold in self._pending_manifolds:
            self._write_manifold(step, manifold)
        self._pending_manifolds.clear()

    # -- training --------------------------------------------------------------------------------
    def write_train_snapshot(self, snapshot: TrainSnapshot) -> None:
        for name in TRAIN_SERIES:
            self._queue_row("train/metrics", name, getattr(snapshot, name))
        if snapshot.manifold is not None:
            self.write_manifold(snapshot.step, snapshot.manifold)
        if snapshot.checkpoint is not None:
            self.write_checkpoint(snapshot.checkpoint)  # flushes
        else:
            self.maybe_flush()

    def write_manifold(self, step: int, manifold: Manifold1D | Manifold2D) -> None:
        """Queued like the metric rows, so that a file always holds the frames of its saved steps."""
        self._pending_manifolds.append((step, manifold))

    def _write_manifold(self, step: int, manifold: Manifold1D | Manifold2D) -> None:
        """One frame into the stacks made at the start (the grid's axes with the first frame)."""
        group = self.file["train/manifolds"]
        if hasattr(manifold, "fx"):  # Manifold1D
            axes, frames = {"x": manifold.x}, {"fx": manifold.fx, "loss": manifold.loss}
        else:
            axes = {"xs": manifold.xs, "ys": manifold.ys}
            frames = {"loss": manifold.loss, "displacement": manifold.displacement}
        if len(group["step"]) == 0:
            for name, values in axes.items():
                group[name][:] = values
        for name, frame in frames.items():
            append_rows(group[name], frame[None])
        append_rows(group["step"], np.asarray([step], dtype=np.int64))

    def write_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Weights as plain datasets in /checkpoints/<step>, written once; the newest is the model."""
        self.write_weights(checkpoint.step, checkpoint.weights, checkpoint.loss)

    # -- sampling --------------------------------------------------------------------------------
    def begin_sampling(
        self,
        settings: SampleConfig,
        seed: int,
        checkpoint_step: int,
        starts: np.ndarray,
        start_quality: ClassScore | None = None,
    ) -> str:
        """Open a sampling group; start_quality: the class score of the starts (generation 0) of an
        image sampling, whose every generation is then scored (None: no quality series)."""

        def create(group: h5py.Group) -> None:
            self._create_sampling(group, settings, starts)
            self._quality = None
            if start_quality is not None:
                self._create_quality(group, start_quality)

        return self._open_sampling(settings, seed, checkpoint_step, starts.nbytes, create)

    def _create_sampling(self, group: h5py.Group, settings: SampleConfig, starts: np.ndarray) -> None:
        """Every dataset a GKN sampling writes, made here, before the file goes live: in SWMR mode
        nothing can be added later. A new series of the sampling is declared here (growing, empty)."""
        n_chains, dim = starts.shape
        per_chunk = create_chain_stack(group, "chains", starts, settings.steps)
        block_steps = int(np.clip(STATE_BLOCK_BYTES // max(1, n_chains * dim * 4), 1, settings.steps))
        block_steps = max(per_chunk, block_steps // per_chunk * per_chunk)  # whole chunks
        self._block = np.empty((n_chains, min(block_steps, settings.steps), dim), dtype=np.float32)
        self._block_first, self._block_fill = 1, 0
        self._create_series(f"{group.name}/metrics", SAMPLE_SERIES)
        create_final_rows(group, "samples", n_chains, dim)  # written when the sampling ends

    def _create_quality(self, group: h5py.Group, start: ClassScore) -> None:
        """The quality series of an image sampling (QUALITY_SERIES, empty), created with the sampling;
        generation 0's row is queued (written by the flush that opens the sampling)."""
        self._create_series(f"{group.name}/{QUALITY}", QUALITY_SERIES)
        group[QUALITY].attrs.update(name=start.name, reason=start.reason)
        self._quality = f"{group.name}/{QUALITY}"
        self._queue_quality(self._quality, 0, start)

    def _queue_quality(self, where: str, generation: int, score: ClassScore) -> None:
        row = {
            "generation": generation,
            "class_score": score.fraction,
            "class_entropy": score.entropy,
            "classes_seen": score.classes_seen,
            "reject": score.reject,
        }
        for name, value in row.items():
            self._queue_row(where, name, value)

    def write_sample_snapshot(self, snapshot: SampleSnapshot) -> None:
        metrics = f"{self._sampling.name}/metrics"
        if snapshot.quality is not None and self._quality is not None:
            self._queue_quality(self._quality, snapshot.step, snapshot.quality)
        self._block[:, self._block_fill] = snapshot.states
        self._block_fill += 1
        for name in SAMPLE_SERIES:
            self._queue_row(metrics, name, getattr(snapshot, name))
        if self._block_fill == self._block.shape[1]:
            self.flush()  # a full block: written now (a flush is a safe moment), memory stays bounded
        else:
            self.maybe_flush()

    def end_sampling(self, status: str, reason: str = "") -> None:
        """Write the last chain states and the samples (the last state of every chain), then the
        sampling's status. A write that fails here marks the sampling failed and raises RunFileError."""
        if self._sampling is None:
            return
        chains = self._sampling["chains"]
        try:
            self._end_sampling_group(
                status, reason, lambda: chains[:, -1], chains.shape[0] * chains.shape[2] * 4
            )
        finally:
            self._block, self._quality = None, None


# -- recording jobs ----------------------------------------------------------------------------------
def record_training(job: GKNTrainingJob, writer: GknRunWriter) -> Iterator[TrainSnapshot]:
    from gkn_core.gkn.train import TrainingDiverged

    def keep_last_good_weights(exc: BaseException) -> None:
        """A diverged or failed (e.g. out of memory) training keeps the best weights it reached."""
        if isinstance(exc, TrainingDiverged) and exc.checkpoint is not None:
            writer.write_checkpoint(exc.checkpoint)
        elif isinstance(exc, JobFailed) and math.isfinite(job.best_loss):
            writer.write_checkpoint(job.best_checkpoint())

    def stopped_weights() -> None:
        writer.write_checkpoint(job.model_checkpoint(job.steps_done, job.best_loss))

    return recorded_training(
        job, writer, writer.write_train_snapshot, keep_last_good_weights, stopped_weights
    )


def record_sampling(
    job: KaleidoscopeSamplingJob, writer: GknRunWriter, seed: int, checkpoint_step: int
) -> Iterator[SampleSnapshot]:
    writer.begin_sampling(job.settings, seed, checkpoint_step, job.starts, job.start_quality)
    return recorded_sampling(job, writer, writer.write_sample_snapshot, writer.end_sampling)
