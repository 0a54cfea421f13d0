"""Lyapunov analysis of a chaotic RNN as a job: spectrum, finite-time largest exponent, and a quick
sweep of the largest exponent against g (the edge of chaos) for the app's Lyapunov view.

All exponents are per tau (per-step exponents * tau / dt), as everywhere in the project. The maths is
gkn_core.lyapunov's (with the network's analytic tangent map, gkn_core.tangent); this module only
chooses the initial states, seeds and scaling, and orders the work into short job steps, so that
Stop and Pause answer within a fraction of a second even at paper size. Each job step does a
bounded number of Euler steps of the stage in progress (`steps_per_job_step`, by default as many
as WORK_PER_JOB_STEP floating-point operations allow), carrying states, frames and sums across
job steps; a stage in progress reports its running estimate and "spectrum (120/300 steps)". The stages:

1. the k largest exponents of the analysed network (mean and spread over `chains` trajectories),
   their participation ratio and Kaplan-Yorke dimension;
2. the finite-time largest exponent over consecutive windows of `local_window` steps;
3. one step per gain of `g_values`: the largest exponent of an UNTRAINED network of the same
   architecture and sizes built with the model seed at that gain. The sweep is the reference for
   the transition to chaos; the analysed network (trained or not) is marked at its own g.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import torch
from pydantic import Field, field_validator, model_validator

from gkn_core.chaos.config import LARGEST_EXPONENT_CHAINS, LARGEST_EXPONENT_STEPS, ChaosModelConfig
from gkn_core.chaos.models import ChaoticRNN, build_chaos_model
from gkn_core.errors import ConfigError
from gkn_core.job import Job, frozen_array
from gkn_core.lyapunov import (
    Benettin,
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
WORK_PER_JOB_STEP = 3e8  # floating-point operations of one job step by default (~0.05-0.3 s on a CPU core)
Gain = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]


def g_grid(start: float, stop: float, step: float) -> list[float]:
    """start, start + step, ... up to stop (included when it lies on the grid, to rounding).

    Empty when stop < start or step <= 0, which LyapunovSettings then refuses with one line.
    """
    if step <= 0 or stop < start:
        return []
    count = int(np.floor((stop - start) / step + 1e-9)) + 1
    return [round(start + i * step, 10) for i in range(count)]


class SpectrumSettings(Settings):
    """How a Lyapunov spectrum is measured: the one set of these settings and their defaults, for
    `gkn lyapunov`, the Lyapunov view and the `lyapunov` sweep kind."""

    exponents: Annotated[int, Field(ge=1, le=65536)] | None = None  # None: every unit, at most 128
    steps: Annotated[int, Field(ge=1, le=1_000_000)] = LARGEST_EXPONENT_STEPS  # Euler steps averaged
    transient: Annotated[int, Field(ge=0, le=1_000_000)] | None = None  # None: one phase T/dt
    chains: Annotated[int, Field(ge=1, le=10_000)] = LARGEST_EXPONENT_CHAINS  # trajectories
    renorm_every: Annotated[int, Field(ge=1, le=1_000_000)] = 1  # QR every that many steps
    # initial states and tangent frames; None: the model seed (as the training curve's exponent)
    seed: Annotated[int, Field(ge=0, lt=2**63)] | None = None

    def exponents_for(self, units: int) -> int:
        """How many exponents to follow for a network of `units` units (ConfigError if too many)."""
        if self.exponents is None:
            return min(units, MAX_DEFAULT_EXPONENTS)
        if self.exponents > units:
            raise ConfigError(
                f"lyapunov.exponents: the network has only {units} units (got {self.exponents})"
            )
        return self.exponents

    def transient_for(self, model: ChaoticRNN) -> int:
        return self.transient if self.transient is not None else model.settings.n_steps


class LyapunovSettings(SpectrumSettings):
    """The Lyapunov view's settings: a spectrum, finite-time windows and a sweep over the gain."""

    local_window: Annotated[int, Field(ge=1, le=1_000_000)] = 10  # steps per finite-time window
    g_values: tuple[Gain, ...] = tuple(g_grid(0.5, 3.0, 0.25))
    g_steps: Annotated[int, Field(ge=1, le=1_000_000)] = 150  # steps per gain of the sweep
    g_chains: Annotated[int, Field(ge=1, le=10_000)] = 2
    # Euler steps per job step (None: as many as WORK_PER_JOB_STEP floating-point operations allow)
    steps_per_job_step: Annotated[int, Field(ge=1, le=1_000_000)] | None = None

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
    spectrum = lyapunov_spectrum(model.euler_map(), x0, k, steps, transient, renorm_every, seed=seed)
    return spectrum * per_tau(model)


def network_local_largest(
    model: ChaoticRNN, window: int, windows: int, transient: int, chains: int, seed: int = 0
) -> torch.Tensor:
    """Finite-time largest exponent per tau over consecutive windows of `window` steps: (chains, windows),
    on the same trajectories as network_spectrum with the same seed."""
    x0 = initial_states(model, chains, seed)
    local = local_largest_exponent(model.euler_map(), x0, window, windows, transient, seed=seed)
    return local * per_tau(model)


@dataclass(frozen=True)
class LargestExponent:
    """The largest exponent per tau of a network: the mean over chains and its standard error, with
    the settings it was estimated with (the one estimate of the training curve, the Lyapunov view's
    headline and `gkn lyapunov`)."""

    value: float
    stderr: float  # std over chains (ddof 1) / sqrt(chains); nan with one chain
    steps: int
    transient: int
    chains: int
    seed: int

    def describe(self) -> str:
        se = "" if math.isnan(self.stderr) else f" ± {self.stderr:.4f}"
        return (
            f"{self.value:+.4f}{se} per tau ({self.steps} steps after a transient of {self.transient}, "
            f"{self.chains} chains, seed {self.seed})"
        )


def largest_exponent_run(model: ChaoticRNN, steps: int, transient: int, chains: int, seed: int) -> Benettin:
    """The run behind every largest-exponent estimate: one tangent vector, a QR every step, `chains`
    N(0, 1) initial states from seed + 7, the frame from seed. Advance it (in pieces or at once)."""
    x0 = initial_states(model, chains, seed)
    return Benettin(model.euler_map(), x0, 1, steps, transient, 1, seed=seed)


def largest_exponent_of(run: Benettin, model: ChaoticRNN, seed: int) -> LargestExponent:
    """The estimate of a (finished) largest_exponent_run."""
    values = run.exponents()[:, 0].double() * per_tau(model)
    chains = values.shape[0]
    stderr = float(values.std(correction=1) / math.sqrt(chains)) if chains > 1 else math.nan
    return LargestExponent(float(values.mean()), stderr, run.steps, run.transient, chains, seed)


def largest_exponent(
    model: ChaoticRNN,
    steps: int = LARGEST_EXPONENT_STEPS,
    transient: int | None = None,
    chains: int = LARGEST_EXPONENT_CHAINS,
    seed: int = 0,
) -> LargestExponent:
    """The largest exponent per tau of the free dynamics (transient None: one phase T/dt)."""
    skip = model.settings.n_steps if transient is None else transient
    run = largest_exponent_run(model, steps, skip, chains, seed)
    run.advance()
    return largest_exponent_of(run, model, seed)


def euler_steps_per_job_step(model: ChaoticRNN, k: int, chains: int, renorm_every: int = 1) -> int:
    """How many Euler steps of a k-exponent, `chains`-trajectory run fit in WORK_PER_JOB_STEP
    floating-point operations (the products of the state and k vectors, and the QR), at least 1."""
    couplings = sum(m.shape[0] * m.shape[1] for inputs in model._sources(False) for _, m in inputs)
    products = 2 * chains * (k + 1) * couplings
    qr = 4 * chains * model.dim * k * k / renorm_every
    return max(1, int(WORK_PER_JOB_STEP // (products + qr + 20 * chains * (k + 1) * model.dim)))


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
    frame_condition: float | None = None  # the spectrum's frame condition readout (Benettin)
    euler_steps: int = 0  # Euler steps done by the job so far, all stages
    largest: LargestExponent | None = None  # the finite-time stage's run, once finished


@dataclass
class _Stage:
    """One stage of the analysis: its name, Euler steps, steps per job step and (once begun) its run."""

    name: str
    euler_steps: int
    chunk: int
    run: Benettin | None = None
    window_start: torch.Tensor | None = None  # finite-time stage: the sums at the current window's start

    @property
    def job_steps(self) -> int:
        return math.ceil(self.euler_steps / self.chunk)


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
        self.seed = settings.seed if settings.seed is not None else model_seed
        self.transient = settings.transient_for(model)
        s, t = settings, self.transient

        def chunk(k: int, chains: int, renorm: int) -> int:
            if s.steps_per_job_step is not None:
                return s.steps_per_job_step
            return euler_steps_per_job_step(model, k, chains, renorm)

        self.stages = [
            _Stage("spectrum", t + s.steps, chunk(self.k, s.chains, s.renorm_every)),
            # every step (not only whole windows): its run is also the largest exponent's estimate
            _Stage("finite-time exponent", t + s.steps, chunk(1, s.chains, 1)),
        ]
        n = len(s.g_values)
        self.stages += [
            _Stage(f"g sweep {i + 1}/{n}", t + s.g_steps, chunk(1, s.g_chains, 1)) for i in range(n)
        ]
        self.total_steps = sum(stage.job_steps for stage in self.stages)
        self.euler_steps = 0
        self._current = 0
        self._spectrum: torch.Tensor | None = None  # (chains, k) per tau
        self._condition: float | None = None
        self._local: list[float] = []
        self._g_done: list[float] = []
        self._g_largest: list[float] = []
        self._stage = ""
        self._largest: LargestExponent | None = None

    def _advance(self) -> LyapunovSnapshot:
        stage = self.stages[self._current]
        if stage.run is None:
            self._begin(self._current, stage)
        run = stage.run
        assert run is not None
        if self._current == 1:
            self._advance_windows(stage, run)
        else:
            self.euler_steps += run.advance(stage.chunk)
        if self._current == 0 and run.counted:
            self._spectrum = run.exponents() * per_tau(self.model)
            self._condition = run.frame_condition()
        self._stage = stage.name if run.finished else f"{stage.name} ({run.done}/{run.total_steps} steps)"
        if run.finished:
            if self._current == 1:
                self._largest = largest_exponent_of(run, self.model, self.seed)
            if self._current >= 2:
                largest = run.exponents().mean(0)[0] * per_tau(self.model)
                self._g_done.append(self.settings.g_values[self._current - 2])
                self._g_largest.append(float(largest))
            stage.run = None  # frees its buffers
            self._current += 1
        return self._snapshot()

    def _begin(self, index: int, stage: _Stage) -> None:
        s, seed = self.settings, self.seed
        if index == 0:
            x0 = initial_states(self.model, s.chains, seed)
            stage.run = Benettin(
                self.model.euler_map(), x0, self.k, s.steps, self.transient, s.renorm_every, seed=seed
            )
        elif index == 1:
            stage.run = largest_exponent_run(self.model, s.steps, self.transient, s.chains, seed)
        else:
            # the largest exponent of the untrained network at this gain, as network_spectrum
            g = s.g_values[index - 2]
            untrained = build_chaos_model(
                self._at_gain(g), self.n_visible, self.model.device, self.model_seed
            )
            seed = seed + STATE_SEED_OFFSET
            gen = torch.Generator(device=untrained.device).manual_seed(seed)
            x0 = torch.cat(untrained.random_state(s.g_chains, gen), dim=1)
            stage.run = Benettin(untrained.euler_map(), x0, 1, s.g_steps, self.transient, seed=seed)

    def _advance_windows(self, stage: _Stage, run: Benettin) -> None:
        """Up to stage.chunk steps of the finite-time run, closing every window it completes."""
        window, todo = self.settings.local_window, stage.chunk
        while todo and not run.finished:
            if run.done < run.transient:
                n = min(todo, run.transient - run.done)
            else:
                n = min(todo, window - (run.done - run.transient) % window)
            if run.done == run.transient or stage.window_start is None:
                stage.window_start = run.total[:, 0].clone()
            done = run.advance(n)
            todo -= done
            self.euler_steps += done
            if run.done > run.transient and (run.done - run.transient) % window == 0:
                growth = (run.total[:, 0] - stage.window_start) / window
                self._local.append(float(growth.mean()) * per_tau(self.model))
                stage.window_start = run.total[:, 0].clone()

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
        local = np.asarray(self._local, float)
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
            local_t=frozen_array(np.arange(1, len(local) + 1) * window_tau),
            local_largest=frozen_array(local),
            local_mean=float(local.mean()) if len(local) else None,
            g_values=frozen_array(g_values),
            g_largest=frozen_array(g_largest),
            g_crossing=zero_crossing(g_values, g_largest),
            network_g=float(self.model.settings.g),
            elapsed=self.elapsed,
            frame_condition=self._condition,
            euler_steps=self.euler_steps,
            largest=self._largest,
        )
