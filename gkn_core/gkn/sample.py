"""Kaleidoscopic sampling: iterate the frozen network on noise, with a little noise each step.

Each step: x <- f(x); record x; x <- clamp(x + sigma * noise, low, high). The noise is zero-mean
(the reference code's 'uniform' noise was always positive, a defect we do not copy). The job keeps
only what the next step needs (the states now, the starts): every state recorded is in its snapshot,
and the run writer stores them in the run file block by block, so memory is bounded whatever the number
of steps (issue #17.5). `collect_chains` keeps them all in memory, for the callers that want that.
"""

from __future__ import annotations

import math
import time
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
BLOCK_BYTES = 1 << 20  # the states of the steps described together (one batch of metrics) ...
BLOCK_SECONDS = 0.1  # ... or the steps of this long, so a reader gets snapshots 10 times a second


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
        """scorer: the class score of generations (gkn_core.gkn.sample_quality.generation_scorer);
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
            x0 = torch.as_tensor(np.array(starts, dtype=np.float32), device=self.device)
            x0 = x0.reshape(-1, self.dim).clamp(low, high)
        self.x = x0
        self.n_chains = x0.shape[0]
        self._starts = frozen_array(x0)
        self._last = self._starts  # the states of the newest step described (the starts before any)
        self.scorer = scorer
        self.start_quality = None if scorer is None else scorer(self._starts[None])[0]  # generation 0
        self.reference = None
        if reference_data is not None and len(reference_data):
            rows = np.array(reference_data[:REFERENCE_ROWS], dtype=np.float32)  # writable copy for torch
            self.reference = torch.from_numpy(rows).to(self.device)
        # A step only iterates (f, noise, clamp) and keeps its tensors; their snapshots are made a
        # block at a time (`_settle`), with the metrics of the whole block in a few batched products.
        state_bytes = 4 * self.n_chains * self.dim
        self._block_steps = int(np.clip(BLOCK_BYTES // state_bytes, 1, max(1, self.total_steps)))
        self._inputs: list[torch.Tensor] = []  # x of each step of the block
        self._outputs: list[torch.Tensor] = []  # f(x) of each step of the block
        self._times: list[float] = []  # when each step of the block ended (perf_counter)
        self._block_started = 0.0

    @property
    def starts(self) -> np.ndarray:
        return self._starts

    @property
    def last_states(self) -> np.ndarray:
        """(n_chains, d): the states of the newest step described (the starts before the first)."""
        return self._last

    def data_distance(self, states: torch.Tensor) -> float:
        if self.reference is None:
            return float("nan")
        return float(self._data_distances(states[None])[0])

    def _data_distances(self, states: torch.Tensor) -> torch.Tensor:
        """(k,): for each of k generations (k, n, d), the mean over chains of the RMS distance to the
        nearest data row."""
        k, n, d = states.shape
        # cdist's own choice for one generation (matrix products beyond 25 rows), so that a block
        # gives the numbers one generation at a time would.
        mode = "use_mm_for_euclid_dist" if max(n, len(self.reference)) > 25 else "donot_use_mm_for_euclid_dist"
        nearest = torch.cdist(states.reshape(k * n, d), self.reference, compute_mode=mode).amin(dim=1)
        return (nearest.reshape(k, n) / self.dim**0.5).mean(dim=1)

    def _advance(self) -> SampleSnapshot:
        self._advance_deferred()
        return self._settle()[-1]

    def _advance_deferred(self) -> None:
        if not self._outputs:
            self._block_started = time.perf_counter()
        with torch.inference_mode():
            x = self.x
            fx = self.model(x)
            if self.settings.noise > 0:
                moved = fx + self.settings.noise * self._zero_mean_noise(fx.shape)
                self.x = moved.clamp_(self.low, self.high)
            else:
                self.x = fx.clamp(self.low, self.high)
        self._inputs.append(x)
        self._outputs.append(fx)
        self._times.append(time.perf_counter())

    def _has_deferred(self) -> bool:
        return bool(self._outputs)

    def _deferred_due(self) -> bool:
        return len(self._outputs) >= self._block_steps or (
            time.perf_counter() - self._block_started >= BLOCK_SECONDS
        )

    def _settle(self) -> list[SampleSnapshot]:
        """The snapshots of the steps kept: their movement, data distance and class score computed
        for the whole block at once (the same numbers, one generation at a time)."""
        if not self._outputs:
            return []
        k = len(self._outputs)
        first = self.steps_done - k + 1
        with torch.inference_mode():
            outputs = torch.stack(self._outputs)
            movement = (outputs - torch.stack(self._inputs)).pow_(2).mean(dim=(1, 2)).sqrt_().tolist()
            distance = [math.nan] * k
            if self.reference is not None:
                distance = self._data_distances(outputs).tolist()
            states = outputs.cpu().numpy()
        states.flags.writeable = False  # a new array every block: the snapshots' states are its rows
        quality = [None] * k if self.scorer is None else self.scorer(states)
        started = self._started_at or 0.0
        snapshots = [
            SampleSnapshot(
                first + i,
                self.total_steps,
                states[i],
                movement[i],
                distance[i],
                first + i > self.settings.burn_in,
                self._times[i] - started,
                quality[i],
            )
            for i in range(k)
        ]
        self._last = states[-1]
        self._inputs, self._outputs, self._times = [], [], []
        return snapshots

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
