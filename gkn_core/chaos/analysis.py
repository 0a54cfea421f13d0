"""Lyapunov analysis of a chaotic RNN as a job: spectrum, finite-time largest exponent, and a quick
sweep of the largest exponent against g (the edge of chaos) for the app's Lyapunov view.

All exponents are per tau (per-step exponents * tau / dt), as everywhere in the project. The maths is
gkn_core.lyapunov's; this module only chooses the initial states, seeds and scaling, and orders the
work into job steps:

1. the k largest exponents of the analysed network (mean and spread over `chains` trajectories),
   their participation ratio and Kaplan-Yorke dimension;
2. the finite-time largest exponent over consecutive windows of `local_window` steps;
3. one step per gain of `g_values`: the largest exponent of an UNTRAINED network of the same
   architecture and sizes built with the model seed at that gain. The sweep is the reference for
   the transition to chaos; the analysed network (trained or not) is marked at its own g.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import torch
from pydantic import Field, field_validator, model_validator

from gkn_core.chaos.config import ChaosModelConfig
from gkn_core.chaos.models import ChaoticRNN, build_chaos_model, largest_exponent_per_tau
from gkn_core.errors import ConfigError
from gkn_core.job import Job, frozen_array
from gkn_core.lyapunov import (
    kaplan_yorke_dimension,
    local_largest_exponent,
    lyapunov_spectrum,
    participation_ratio,
)
from gkn_core.settings import Settings, validate_section

MAX_DEFAULT_EXPONENTS = 128  # the default follows every unit up to this many (QR cost grows as k^2)
# Initial states use seed + 7 so that, when the analysis seed equals the model seed, the states are
# not the first numbers of the stream the couplings were drawn from (the `gkn lyapunov` convention).
STATE_SEED_OFFSET = 7
Gain = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]


def g_grid(start: float, stop: float, step: float) -> list[float]:
    """start, start + step, ... up to stop (included when it lies on the grid, to rounding).

    Empty when stop < start or step <= 0, which LyapunovSettings then refuses with one line.
    """
    if step <= 0 or stop < start:
        return []
    count = int(np.floor((stop - start) / step + 1e-9)) + 1
    return [round(start + i * step, 10) for i in range(count)]


class LyapunovSettings(Settings):
    exponents: Annotated[int, Field(ge=1, le=65536)] | None = None  # None: every unit, at most 128
    steps: Annotated[int, Field(ge=1, le=1_000_000)] = 300  # Euler steps averaged over
    transient: Annotated[int, Field(ge=0, le=1_000_000)] | None = None  # None: one phase T/dt
    chains: Annotated[int, Field(ge=1, le=10_000)] = 2  # trajectories (initial states)
    renorm_every: Annotated[int, Field(ge=1, le=1_000_000)] = 1  # QR every that many steps
    local_window: Annotated[int, Field(ge=1, le=1_000_000)] = 10  # steps per finite-time window
    g_values: tuple[Gain, ...] = tuple(g_grid(0.5, 3.0, 0.25))
    g_steps: Annotated[int, Field(ge=1, le=1_000_000)] = 150  # steps per gain of the sweep
    g_chains: Annotated[int, Field(ge=1, le=10_000)] = 2
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0  # initial states and tangent frames

    @field_validator("g_values")
    @classmethod
    def _some_gains(cls, values: tuple[float, ...]) -> tuple[float, ...]:
        if not 1 <= len(values) <= 200:
            raise ValueError(f"give 1 to 200 gains for the sweep, not {len(values)} (check from < to)")
        return values

    @model_validator(mode="after")
    def _window_fits(self) -> LyapunovSettings:
        if self.local_window > self.steps:
            raise ValueError(f"local_window ({self.local_window}) must not exceed steps ({self.steps})")
        return self

    def exponents_for(self, units: int) -> int:
        """How many exponents to follow for a network of `units` units (ConfigError if too many)."""
        if self.exponents is None:
            return min(units, MAX_DEFAULT_EXPONENTS)
        if self.exponents > units:
            raise ConfigError(
                f"lyapunov.exponents: the network has only {units} units (got {self.exponents})"
            )
        return self.exponents


def lyapunov_settings(raw: dict[str, Any]) -> LyapunovSettings:
    """Validated settings; a bad value raises ConfigError with one line ('lyapunov.steps: ...')."""
    return validate_section(LyapunovSettings, raw, "lyapunov")


def initial_states(model: ChaoticRNN, chains: int, seed: int) -> torch.Tensor:
    """`chains` concatenated N(0, 1) states (chains, units) of the network, from seed + 7."""
    gen = torch.Generator(device=model.device).manual_seed(seed + STATE_SEED_OFFSET)
    return torch.cat(model.random_state(chains, gen), dim=1)


def per_tau(model: ChaoticRNN) -> float:
    """Factor from exponents per Euler step to exponents per tau."""
    return model.settings.tau / model.settings.dt


def network_spectrum(
    model: ChaoticRNN, k: int, steps: int, transient: int, chains: int, renorm_every: int = 1, seed: int = 0
) -> torch.Tensor:
    """The k largest exponents per tau of the free dynamics for each trajectory: (chains, k), descending."""
    x0 = initial_states(model, chains, seed)
    return lyapunov_spectrum(model.flat_step, x0, k, steps, transient, renorm_every, seed=seed) * per_tau(
        model
    )


def network_local_largest(
    model: ChaoticRNN, window: int, windows: int, transient: int, chains: int, seed: int = 0
) -> torch.Tensor:
    """Finite-time largest exponent per tau over consecutive windows of `window` steps: (chains, windows),
    on the same trajectories as network_spectrum with the same seed."""
    x0 = initial_states(model, chains, seed)
    return local_largest_exponent(model.flat_step, x0, window, windows, transient, seed=seed) * per_tau(model)


def zero_crossing(g: np.ndarray, largest: np.ndarray) -> float | None:
    """The first gain where the largest exponent goes from < 0 to >= 0, linearly interpolated
    between the two sweep points around it; None when it never does."""
    order = np.argsort(g, kind="stable")
    g, largest = np.asarray(g, float)[order], np.asarray(largest, float)[order]
    for i in range(len(g) - 1):
        if largest[i] < 0 <= largest[i + 1]:
            return float(g[i] + (g[i + 1] - g[i]) * -largest[i] / (largest[i + 1] - largest[i]))
    return None


@dataclass(frozen=True)
class LyapunovSnapshot:
    """Everything done so far (cumulative): a GUI only needs to keep the newest snapshot."""

    step: int
    total_steps: int
    stage: str  # what the last step did: "spectrum", "finite-time exponent", "g sweep 5/11"
    spectrum: np.ndarray | None  # (k,) per tau, descending, mean over chains; None before step 1
    spectrum_std: np.ndarray | None  # (k,) spread over chains (population std; 0 with one chain)
    n_units: int  # N: the spectrum is drawn against i / N
    participation_ratio: float | None  # of the positive part of the mean spectrum
    kaplan_yorke: float | None  # of the k known exponents (a lower bound when their sum stays > 0)
    local_t: np.ndarray  # (windows,) time in tau at the end of each window, from the end of the transient
    local_largest: np.ndarray  # (windows,) finite-time largest exponent per tau, mean over chains
    local_mean: float | None  # the mean of local_largest (the dashed line)
    g_values: np.ndarray  # gains of the sweep done so far
    g_largest: np.ndarray  # largest exponent per tau of the untrained network at each of them
    g_crossing: float | None  # where g_largest crosses 0 (zero_crossing), once it has
    network_g: float  # the analysed network's own gain
    elapsed: float


class LyapunovAnalysisJob(Job[LyapunovSnapshot]):
    def __init__(
        self, model: ChaoticRNN, settings: LyapunovSettings, n_visible: int, model_seed: int
    ) -> None:
        """model: the network analysed (trained or untrained); its settings give arch, sizes, g, tau,
        dt. n_visible and model_seed rebuild the untrained networks of the g sweep."""
        super().__init__()
        self.model = model
        self.settings = settings
        self.n_visible = n_visible
        self.model_seed = model_seed
        self.k = settings.exponents_for(model.dim)
        self.transient = settings.transient if settings.transient is not None else model.settings.n_steps
        self.total_steps = 2 + len(settings.g_values)
        self._spectrum: torch.Tensor | None = None  # (chains, k) per tau
        self._local = np.zeros(0)
        self._g_done: list[float] = []
        self._g_largest: list[float] = []
        self._stage = ""

    def _advance(self) -> LyapunovSnapshot:
        s = self.settings
        done = self.steps_done
        if done == 0:
            self._spectrum = network_spectrum(
                self.model, self.k, s.steps, self.transient, s.chains, s.renorm_every, s.seed
            )
            self._stage = "spectrum"
        elif done == 1:
            windows = s.steps // s.local_window
            local = network_local_largest(
                self.model, s.local_window, windows, self.transient, s.chains, s.seed
            )
            self._local = local.mean(0).double().cpu().numpy()
            self._stage = "finite-time exponent"
        else:
            i = done - 2
            g = s.g_values[i]
            untrained = build_chaos_model(
                self._at_gain(g), self.n_visible, self.model.device, self.model_seed
            )
            largest = largest_exponent_per_tau(
                untrained, s.g_chains, s.g_steps, self.transient, seed=s.seed + STATE_SEED_OFFSET
            )
            self._g_done.append(g)
            self._g_largest.append(float(largest[0]))
            self._stage = f"g sweep {i + 1}/{len(s.g_values)}"
        return self._snapshot()

    def _at_gain(self, g: float) -> ChaosModelConfig:
        return validate_section(ChaosModelConfig, {**self.model.settings.model_dump(), "g": g}, "model")

    def _snapshot(self) -> LyapunovSnapshot:
        spectrum = std = None
        pr = ky = None
        if self._spectrum is not None:
            mean = self._spectrum.mean(0)
            spectrum = frozen_array(mean.double())
            std = frozen_array(self._spectrum.std(0, correction=0).double())
            pr = float(participation_ratio(mean))
            ky = float(kaplan_yorke_dimension(mean))
        window_tau = self.settings.local_window / per_tau(self.model)
        g_values, g_largest = np.asarray(self._g_done, float), np.asarray(self._g_largest, float)
        return LyapunovSnapshot(
            step=self.steps_done + 1,
            total_steps=self.total_steps,
            stage=self._stage,
            spectrum=spectrum,
            spectrum_std=std,
            n_units=self.model.dim,
            participation_ratio=pr,
            kaplan_yorke=ky,
            local_t=frozen_array(np.arange(1, len(self._local) + 1) * window_tau),
            local_largest=frozen_array(self._local),
            local_mean=float(self._local.mean()) if len(self._local) else None,
            g_values=frozen_array(g_values),
            g_largest=frozen_array(g_largest),
            g_crossing=zero_crossing(g_values, g_largest),
            network_g=float(self.model.settings.g),
            elapsed=self.elapsed,
        )
