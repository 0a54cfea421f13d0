"""Kaleidoscopic sampling: iterate the frozen network on noise, with a little noise each step.

Each step: x <- f(x); record x; x <- clamp(x + sigma * noise, low, high). The noise is zero-mean
(the reference code's 'uniform' noise was always positive, a defect we do not copy). The job keeps
only what the next step needs (the states now, the starts): every state recorded is in its snapshot,
and the run writer stores them in the run file block by block, so memory is bounded whatever the number
of steps (issue #17.5). `collect_chains` keeps them all in memory, for the callers that want that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from gkn_core.class_score import ClassScore
from gkn_core.gkn.config import SampleConfig
from gkn_core.gkn.manifolds import model_device
from gkn_core.gkn.sample_quality import GenerationScorer
from gkn_core.job import Job, ensure_memory, frozen_array

REFERENCE_ROWS = 512  # data rows kept to measure how close samples are to the data (cost: one cdist)


@dataclass(frozen=True)
class SampleSnapshot:
    step: int  # 1..total_steps; the states are chains[:, step]
    total_steps: int
    states: np.ndarray  # (n_chains, d) f(x) recorded at this step
    movement: float  # RMS per coordinate of f(x) - x: near 0 once chains sit on an attractor
    data_distance: float  # mean over chains of the RMS distance to the nearest data row; nan if none
    burned_in: bool  # the states count as samples (step > burn_in)
    elapsed: float
    quality: ClassScore | None = None  # class score of these states (image data only)


def draw_starts(
    settings: SampleConfig, n: int, dim: int, low: float, high: float, generator: torch.Generator
) -> torch.Tensor:
    """Initial states from the start law, on the generator's device."""
    device = generator.device
    if settings.start == "uniform":
        return low + (high - low) * torch.rand(n, dim, generator=generator, device=device)
    centre, std = (low + high) / 2, settings.start_std * (high - low)
    return (centre + std * torch.randn(n, dim, generator=generator, device=device)).clamp(low, high)


class KaleidoscopeSamplingJob(Job[SampleSnapshot]):
    def __init__(
        self,
        model: nn.Module,
        settings: SampleConfig,
        low: float,
        high: float,
        seed: int,
        reference_data: np.ndarray | None = None,
        starts: np.ndarray | None = None,
        scorer: GenerationScorer | None = None,
    ) -> None:
        """scorer: the class score of each generation (gkn_core.gkn.sample_quality.generation_scorer);
        None scores nothing (data that are not images)."""
        super().__init__()
        self.model = model.eval()
        self.settings = settings
        self.low, self.high = low, high
        self.device = model_device(model)
        self.dim = int(next(m for m in model.modules() if isinstance(m, nn.Linear)).in_features)
        self.total_steps = settings.steps
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        if starts is None:
            x0 = draw_starts(settings, settings.chains, self.dim, low, high, self.generator)
        else:
            x0 = torch.as_tensor(np.asarray(starts, dtype=np.float32), device=self.device)
            x0 = x0.reshape(-1, self.dim).clamp(low, high)
        self.x = x0
        self.n_chains = x0.shape[0]
        self._starts = frozen_array(x0)
        self._last = self._starts  # the states recorded at the newest step (the starts before any)
        self.scorer = scorer
        self.start_quality = None if scorer is None else scorer(self._starts)  # generation 0
        self.reference = None
        if reference_data is not None and len(reference_data):
            rows = np.array(reference_data[:REFERENCE_ROWS], dtype=np.float32)  # writable copy for torch
            self.reference = torch.from_numpy(rows).to(self.device)

    @property
    def starts(self) -> np.ndarray:
        return self._starts

    @property
    def last_states(self) -> np.ndarray:
        """(n_chains, d): the states recorded at the newest step (the starts before the first)."""
        return self._last

    def data_distance(self, states: torch.Tensor) -> float:
        if self.reference is None:
            return float("nan")
        nearest = torch.cdist(states, self.reference).amin(dim=1)
        return float((nearest / self.dim**0.5).mean())

    @torch.no_grad()
    def _advance(self) -> SampleSnapshot:
        step = self.steps_done + 1
        fx = self.model(self.x)
        movement = float(((fx - self.x) ** 2).mean().sqrt())
        states = frozen_array(fx)
        self._last = states
        distance = self.data_distance(fx)
        if self.settings.noise > 0:
            fx = fx + self.settings.noise * self._zero_mean_noise(fx.shape)
        self.x = fx.clamp(self.low, self.high)
        quality = None if self.scorer is None else self.scorer(states)
        return SampleSnapshot(
            step,
            self.total_steps,
            states,
            movement,
            distance,
            step > self.settings.burn_in,
            self.elapsed,
            quality,
        )

    def _zero_mean_noise(self, shape: torch.Size) -> torch.Tensor:
        if self.settings.noise_law == "gaussian":
            return torch.randn(shape, generator=self.generator, device=self.device)
        return 2 * torch.rand(shape, generator=self.generator, device=self.device) - 1


def collect_chains(job: KaleidoscopeSamplingJob) -> np.ndarray:
    """Run the job to its end, keeping every state: (n_chains, steps + 1, d), start included. Memory
    grows with the steps (checked up front): for scripts and tests; recorded runs keep the file."""
    ensure_memory(4 * job.n_chains * (job.total_steps + 1) * job.dim, "cpu", "keeping these chains")
    chains = np.empty((job.n_chains, job.total_steps + 1, job.dim), dtype=np.float32)
    chains[:, 0] = job.starts
    for snapshot in job:
        chains[:, snapshot.step] = snapshot.states
    return frozen_array(chains[:, : job.steps_done + 1])
