"""Contrastive Hebbian training of a chaotic RNN, one update per job step (SPEC-NOTES section 2).

Each step: the clamped phase holds phi(v) at a minibatch of M data rows and runs the hidden layers
for T from random states; the free phase runs every layer for T from M random states x(0) ~ N(0, 1)
with no injected noise; then A += k (<phi phi^T>_clamped - <phi phi^T>_free) for each coupled pair
and every bias += k (<phi>_clamped - <phi>_free). Everything is batched over the minibatch.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from gkn_core.chaos.config import ChaosConfig, ChaosDataConfig
from gkn_core.chaos.models import ChaoticRNN, build_chaos_model, sample_visible
from gkn_core.chaos.scores import all_scores
from gkn_core.class_score import ClassScore, class_score, no_score_reason
from gkn_core.data import Dataset
from gkn_core.data.images import load_image_file, load_named_dataset
from gkn_core.device import resolve_device
from gkn_core.errors import Diverged, JobFailed
from gkn_core.job import Job, StepInterrupted, frozen_array

SCORE_DATA_ROWS = 2000  # data rows the scores compare samples with


def load_chaos_dataset(settings: ChaosDataConfig) -> Dataset:
    """The run's images in [-1, 1]. Nothing is downloaded."""
    if settings.source == "file":
        return load_image_file(settings.path, "symmetric", settings.limit)
    return load_named_dataset(settings.source, "symmetric", settings.limit)


@dataclass(frozen=True)
class ChaosCheckpoint:
    step: int
    weights: dict[str, np.ndarray]


@dataclass(frozen=True)
class ChaosTrainSnapshot:
    step: int  # updates done, 1..total_steps
    total_steps: int
    gap: float  # RMS of clamped minus free correlations over the coupling matrices, this step
    free_activity: float  # mean |phi(v(T))| of the free phase
    elapsed: float
    scores: dict[str, float] = field(default_factory=dict)  # E2, Es, ER, AAI ... when measured
    lyapunov: float | None = None  # largest exponent per tau of the free dynamics, when measured
    samples: np.ndarray | None = None  # (n_samples, Nv) phi(v(T)) of the free phase, when kept
    checkpoint: ChaosCheckpoint | None = None


def seeded_chaos_model(config: ChaosConfig, n_visible: int, device: torch.device) -> ChaoticRNN:
    return build_chaos_model(config.model, n_visible, device, seed=config.seed)


class ChaosTrainingJob(Job[ChaosTrainSnapshot]):
    def __init__(self, config: ChaosConfig, dataset: Dataset, device: torch.device | None = None) -> None:
        super().__init__()
        self.config = config
        self.dataset = dataset
        self.device = device if device is not None else resolve_device(config.device)
        self.total_steps = config.train.steps
        self.model = seeded_chaos_model(config, dataset.dim, self.device)
        self.data = torch.from_numpy(np.array(dataset.x)).to(self.device)
        self.n_steps = config.model.n_steps
        self._batch_rng = torch.Generator().manual_seed(config.seed + 1)
        self._order = torch.empty(0, dtype=torch.int64)
        self.generator = torch.Generator(device=self.device).manual_seed(config.seed + 2)
        self._score_data = self.data[
            torch.randperm(len(self.data), generator=self._batch_rng)[:SCORE_DATA_ROWS]
        ]
        self._buffers: tuple[list[torch.Tensor], list[torch.Tensor]] | None = None

    def _next_batch(self) -> torch.Tensor:
        size = self.config.train.M
        n = self.data.shape[0]
        if size >= n:
            return self.data
        if self._order.numel() < size:
            self._order = torch.cat([self._order, torch.randperm(n, generator=self._batch_rng)])
        index, self._order = self._order[:size], self._order[size:]
        return self.data[index.to(self.device)]

    def _fresh_states(self, batch: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Random N(0, 1) states for both phases, drawn into reused buffers."""
        if self._buffers is None or self._buffers[0][0].shape[0] != batch:
            self._buffers = (self.model.random_state(batch), self.model.random_state(batch))
        for states in self._buffers:
            for x in states:
                x.normal_(generator=self.generator)
        return self._buffers

    def _advance(self) -> ChaosTrainSnapshot:
        step = self.steps_done + 1
        cfg = self.config.train
        batch = self._next_batch()
        clamped, free = self._fresh_states(batch.shape[0])
        # Stop is answered inside the phases (every few Euler steps): before the update, a stopped step
        # is given up and the model keeps the weights of the last whole step.
        self.model.run(clamped, self.n_steps, clamp=batch, check=self.check_stop)
        self.model.run(free, self.n_steps, check=self.check_stop)
        free_rates = self.model.visible_rates(free)
        activity = float(free_rates.abs().mean())
        if not math.isfinite(activity):
            raise JobFailed(f"chaos training diverged at step {step}: the free phase is not finite")
        samples = None
        if cfg.sample_every is not None and (
            step == 1 or step % cfg.sample_every == 0 or step == self.total_steps
        ):
            samples = frozen_array(free_rates[: cfg.n_samples])
        gap = self.model.hebbian_update(clamped, free, cfg.k, batch)
        if not math.isfinite(gap):  # the update was not applied: the model holds the last good weights
            raise Diverged(
                f"chaos training diverged at step {step}: the correlations are not finite",
                self.checkpoint(self.steps_done),
            )
        last = step == self.total_steps
        # After the update the step counts; its measurements (the longest part at paper size) are
        # left out once Stop is asked, so the step still ends within a few Euler steps.
        scores: dict[str, float] = {}
        lyapunov = None
        with contextlib.suppress(StepInterrupted):
            if step == 1 or last or step % cfg.metrics_every == 0:
                scores = self.scores(cfg.metrics_samples, check=self.check_stop)
            if cfg.lyapunov_every is not None and (step == 1 or last or step % cfg.lyapunov_every == 0):
                lyapunov = self.largest_exponent(check=self.check_stop)
        checkpoint = None
        if last or step % cfg.checkpoint_every == 0:
            checkpoint = self.checkpoint(step)
        return ChaosTrainSnapshot(
            step, self.total_steps, gap, activity, self.elapsed, scores, lyapunov, samples, checkpoint
        )

    def scores(self, n: int, check: Callable[[], None] | None = None) -> dict[str, float]:
        """E2, Es, ER, AAI of n fresh samples against the score data; the class score (digit or item
        score, series `digit`/`digit_entropy`) of the data sets that have one, NaN for others."""
        generator = torch.Generator(device=self.device).manual_seed(self.config.seed + 3)
        samples = sample_visible(self.model, n, self.n_steps, generator, check=check)
        scores = all_scores(self._score_data[:n], samples)
        classes = class_score(samples.cpu().numpy(), self.config.data.source, "symmetric")
        if classes.scored:
            scores.update(digit=classes.fraction, digit_entropy=classes.entropy)
        return scores

    def class_scores(self, n: int = 500, seed_offset: int = 5) -> tuple[ClassScore, ClassScore]:
        """(trained, untrained) class scores of n free-phase samples (see `trained_and_untrained_scores`)."""
        return trained_and_untrained_scores(self.model, self.config, n, seed_offset)

    def largest_exponent(self, check: Callable[[], None] | None = None) -> float:
        """The shared estimate (gkn_core.chaos.analysis.largest_exponent) with the model seed: the
        Lyapunov view and `gkn lyapunov` give the same number for this checkpoint. Advanced a few
        Euler steps at a time, `check` (the job's check_stop) between them."""
        from gkn_core.chaos.analysis import largest_exponent_of, largest_exponent_run
        from gkn_core.chaos.models import CHECK_EVERY

        cfg = self.config.train
        seed = self.config.seed
        run = largest_exponent_run(self.model, cfg.lyapunov_steps, self.n_steps, cfg.lyapunov_chains, seed)
        while not run.finished:
            if check is not None:
                check()
            run.advance(CHECK_EVERY)
        return largest_exponent_of(run, self.model, seed).value

    def checkpoint(self, step: int) -> ChaosCheckpoint:
        return ChaosCheckpoint(step, {k: frozen_array(v) for k, v in self.model.weights().items()})


def trained_and_untrained_scores(
    model: ChaoticRNN, config: ChaosConfig, n: int = 500, seed_offset: int = 5
) -> tuple[ClassScore, ClassScore]:
    """(trained, untrained) class scores of n free-phase samples from the same initial states: `model`
    and the untrained network of the same seed, its baseline; NaN with the reason for other data."""
    source = config.data.source
    n_steps = config.model.n_steps

    def scored(net: ChaoticRNN) -> ClassScore:
        if no_score_reason(source):  # nothing to sample for
            return class_score(np.zeros((0, net.n_visible)), source, "symmetric")
        gen = torch.Generator(device=net.device).manual_seed(config.seed + seed_offset)
        return class_score(sample_visible(net, n, n_steps, gen).cpu().numpy(), source, "symmetric")

    return scored(model), scored(seeded_chaos_model(config, model.n_visible, model.device))
