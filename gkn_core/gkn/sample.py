"""Kaleidoscopic sampling: iterate the frozen network on noise, with a little noise each step.

Each step: x <- f(x); record x; x <- clamp(x + sigma * noise, low, high). The noise is zero-mean
(the reference code's 'uniform' noise was always positive, a defect we do not copy). The full chains
(n_chains x (steps + 1) x d, start included) are kept for trajectory recordings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from gkn_core.gkn.config import SampleConfig
from gkn_core.gkn.manifolds import model_device
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
    ) -> None:
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
        ensure_memory(4 * self.n_chains * (self.total_steps + 1) * self.dim, "cpu", "recording these chains")
        self._chains = np.empty((self.n_chains, self.total_steps + 1, self.dim), dtype=np.float32)
        self._chains[:, 0] = x0.cpu().numpy()
        self.reference = None
        if reference_data is not None and len(reference_data):
            rows = np.array(reference_data[:REFERENCE_ROWS], dtype=np.float32)  # writable copy for torch
            self.reference = torch.from_numpy(rows).to(self.device)

    @property
    def starts(self) -> np.ndarray:
        return frozen_array(self._chains[:, 0])

    @property
    def chains(self) -> np.ndarray:
        """(n_chains, steps_done + 1, d): the start and every recorded state so far (a read-only view)."""
        view = self._chains[:, : self.steps_done + 1]
        view.flags.writeable = False
        return view

    @property
    def samples(self) -> np.ndarray:
        """States recorded after burn-in, (n_chains, n, d)."""
        return self.chains[:, self.settings.burn_in + 1 :]

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
        self._chains[:, step] = states
        distance = self.data_distance(fx)
        if self.settings.noise > 0:
            fx = fx + self.settings.noise * self._zero_mean_noise(fx.shape)
        self.x = fx.clamp(self.low, self.high)
        return SampleSnapshot(
            step, self.total_steps, states, movement, distance, step > self.settings.burn_in, self.elapsed
        )

    def _zero_mean_noise(self, shape: torch.Size) -> torch.Tensor:
        if self.settings.noise_law == "gaussian":
            return torch.randn(shape, generator=self.generator, device=self.device)
        return 2 * torch.rand(shape, generator=self.generator, device=self.device) - 1
