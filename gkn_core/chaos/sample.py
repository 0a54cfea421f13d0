"""Sampling a chaotic RNN: n chains from random states x(0) ~ N(0, 1), free dynamics, no noise.

One job step is one Euler step of every chain. The sample of a chain is phi(v(T)) after the last
step. The states of chosen units of the first `record_chains` chains are recorded at every step
(start included), for trajectory plots and export.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gkn_core.chaos.config import ChaosSampleConfig
from gkn_core.chaos.models import ChaoticRNN
from gkn_core.job import Job, frozen_array


@dataclass(frozen=True)
class ChaosSampleSnapshot:
    step: int  # Euler steps done, 1..total_steps
    total_steps: int
    activity: float  # mean |phi(v)| over chains
    frame: np.ndarray  # (record_chains, units) recorded states after this step
    elapsed: float


def recorded_units(model: ChaoticRNN, count: int) -> np.ndarray:
    """Indices into the concatenated state: the first `count` visible units and as many of the
    first hidden units, or all units when `count` covers them."""
    if 2 * count >= model.dim:
        return np.arange(model.dim)
    visible = np.arange(min(count, model.n_visible))
    hidden = model.n_visible + np.arange(min(count, model.dim - model.n_visible))
    return np.concatenate([visible, hidden])


class ChaosSamplingJob(Job[ChaosSampleSnapshot]):
    def __init__(self, model: ChaoticRNN, settings: ChaosSampleConfig, seed: int) -> None:
        super().__init__()
        self.model = model
        self.settings = settings
        T = settings.T if settings.T is not None else model.settings.T
        self.total_steps = max(1, round(T / model.settings.dt))
        self.generator = torch.Generator(device=model.device).manual_seed(seed)
        self.states = model.random_state(settings.n, self.generator)
        self.units = recorded_units(model, settings.record_units)
        self.record_chains = min(settings.record_chains, settings.n)
        self._units_t = torch.as_tensor(self.units, device=model.device)
        self.start_frame = self._frame()

    def _frame(self) -> np.ndarray:
        flat = torch.cat([x[: self.record_chains] for x in self.states], dim=1)
        return frozen_array(flat[:, self._units_t])

    @property
    def samples(self) -> np.ndarray:
        """phi(v) of every chain now: the samples once the job has completed, (n, Nv)."""
        return frozen_array(self.model.visible_rates(self.states))

    def _advance(self) -> ChaosSampleSnapshot:
        self.model.run(self.states, 1)
        activity = float(self.model.visible_rates(self.states).abs().mean())
        return ChaosSampleSnapshot(
            self.steps_done + 1, self.total_steps, activity, self._frame(), self.elapsed
        )
