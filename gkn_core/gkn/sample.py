"""Kaleidoscopic sampling: iterate the frozen network on noise, with a little noise each step.

Each step: x <- f(x); record x; x <- clamp(x + sigma * noise, low, high). The noise is zero-mean
(the reference code's 'uniform' noise was always positive, a defect we do not copy). A step does only
that arithmetic and keeps its two tensors; the snapshots of a block of steps (about 1 MB of states, or
0.1 s) are made together (`_settle`): the movement, the distance to the data and the class scores of
the whole block in a few batched products, giving the numbers one step at a time would. Each block's
states are one read-only array (`SampleBlock`), the rows of which the snapshots hold; the run writer
stores a block at once. The job keeps only the block in progress and the states now, so memory is
bounded whatever the number of steps (issue #17.5). `collect_chains` keeps them all in memory, for the
callers that want that.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from threadpoolctl import ThreadpoolController
from torch import nn

from gkn_core.class_score import ClassScore
from gkn_core.gkn.config import SampleConfig
from gkn_core.gkn.manifolds import model_device
from gkn_core.gkn.sample_quality import GenerationScorer
from gkn_core.job import Job, ensure_memory, frozen_array

REFERENCE_ROWS = 512  # data rows kept to measure how close samples are to the data (cost: one cdist)
BLOCK_BYTES = 1 << 19  # the states of the steps described together (one batch of metrics) ...
BLOCK_SECONDS = 0.1  # ... or the steps of this long, so a reader gets snapshots 10 times a second


@functools.cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def blas_threads(count: int) -> Any:
    """numpy's BLAS (the class scores' products) on at most the threads torch has: its own pool,
    left to itself, spins on every core after each product and slows the sampling beside it."""
    return _blas().limit(limits=count, user_api="blas")


@dataclass(frozen=True, eq=False)
class SampleBlock:
    """The steps first .. first + k - 1, described together."""

    first: int
    states: np.ndarray  # (k, n_chains, d), read-only
    movement: list[float]
    data_distance: list[float]
    quality: list[ClassScore] | None  # None: nothing scored (data that are not images)


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
    # The block this step was described in (the run writer stores a block at once); not pickled:
    # a snapshot sent elsewhere carries its own states only.
    block: SampleBlock | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "block": None}


def padded_reference(reference: torch.Tensor) -> torch.Tensor:
    """(m, d + 2): the data rows as torch.cdist's matrix product takes them, [y, 1, |y|^2]."""
    norms = reference.pow(2).sum(-1, keepdim=True)
    return torch.cat([reference, torch.ones_like(norms), norms], -1)


def nearest_distance(states: torch.Tensor, padded: torch.Tensor) -> torch.Tensor:
    """(N,) the distance of each state (N, d) to its nearest data row (padded_reference), as
    torch.cdist (matrix-product mode) computes it: [-2x, |x|^2, 1] @ [y, 1, |y|^2]^T, clamped at 0,
    square root. The root and the clamp are monotonic: taken of the nearest only, the same number."""
    norms = states.pow(2).sum(-1, keepdim=True)
    squared = torch.cat([states.mul(-2), norms, torch.ones_like(norms)], -1).matmul(padded.mT)
    return squared.amin(dim=1).clamp_min_(0).sqrt_()


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
        # The first block is one step, each next one twice as long up to the full block: the first
        # snapshot comes at once, and the job computes ahead of what its reader has seen by at most
        # the block it is on (a generator: nothing is computed while the reader holds a snapshot).
        self._block_target = 1
        if self.reference is not None:
            self._reference_padded = padded_reference(self.reference)

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
        nearest data row: torch.cdist's numbers, with the square root taken of the nearest only."""
        k, n, d = states.shape
        flat = states.reshape(k * n, d)
        if max(n, len(self.reference)) > 25:  # where cdist computes with one matrix product
            nearest = nearest_distance(flat, self._reference_padded)
        else:
            nearest = torch.cdist(flat, self.reference, compute_mode="donot_use_mm_for_euclid_dist").amin(
                dim=1
            )
        return (nearest.reshape(k, n) / self.dim**0.5).mean(dim=1)

    def _advance(self) -> SampleSnapshot:
        with self._deferred_context():
            self._advance_deferred()
        return self._settle()[-1]

    def _deferred_context(self) -> contextlib.AbstractContextManager:
        return torch.inference_mode()

    def _advance_deferred(self) -> None:
        """f, the noise and the clamp: what a bare loop does, keeping x and f(x) for `_settle`."""
        if not self._outputs:
            self._block_started = time.perf_counter()
        x = self.x
        fx = self.model(x)
        if self.settings.noise > 0:
            self.x = (fx + self.settings.noise * self._zero_mean_noise(fx.shape)).clamp_(self.low, self.high)
        else:
            self.x = fx.clamp(self.low, self.high)
        self._inputs.append(x)
        self._outputs.append(fx)
        self._times.append(time.perf_counter())

    def _deferred_due(self) -> bool:
        return len(self._outputs) >= self._block_target or (
            time.perf_counter() - self._block_started >= BLOCK_SECONDS
        )

    def _settle(self) -> list[SampleSnapshot]:
        """The snapshots of the steps kept, their metrics computed for the whole block at once."""
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
        quality = None
        if self.scorer is not None:
            with blas_threads(torch.get_num_threads()):
                quality = self.scorer(states)
        block = SampleBlock(first, states, movement, distance, quality)
        started, burn_in, total, times = (
            self._started_at or 0.0,
            self.settings.burn_in,
            self.total_steps,
            self._times,
        )
        snapshots = [
            SampleSnapshot(
                first + i,
                total,
                states[i],
                movement[i],
                distance[i],
                first + i > burn_in,
                times[i] - started,
                None if quality is None else quality[i],
                block,
            )
            for i in range(k)
        ]
        self._last = states[-1]
        self._inputs, self._outputs, self._times = [], [], []
        self._block_target = min(2 * self._block_target, self._block_steps)
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
