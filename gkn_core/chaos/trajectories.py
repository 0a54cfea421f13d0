"""Trajectories of a chaotic RNN for the Dynamics view: several chains, their states over time and
their projection on 3 principal components (SPEC-NOTES section 2: free dynamics, no noise).

`TrajectoryJob`: `chains` initial states x(0) ~ N(0, 1) drawn from `seed` run the free dynamics for
`transient` unrecorded Euler steps, then `steps` recorded ones. The first job step records at least
`fit_steps` steps and fits a 3-component PCA on the states of every chain over frames 0..fit_steps;
that basis stays fixed, so later frames are projected on it. Each later job step records `chunk`
steps. A frame is the state after an Euler step; frame 0 is the start (after the transient).

Layers name groups of units of the concatenated state [v, h] or [v, h1, h2] (visible first):
`visible` and `hidden` (restricted2 and unrestricted, whose one layer is split at Nv), `visible`,
`hidden1`, `hidden2` (restricted3), or `all`. Unit names: v12, h3 (and h1_3, h2_3 for restricted3).

Recordings in run files, exports and the untrained run are in gkn_core/chaos/recordings.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
import torch
from pydantic import Field, field_validator

from gkn_core.chaos.config import ChaosModelConfig
from gkn_core.chaos.models import CHECK_EVERY, ChaoticRNN
from gkn_core.errors import ConfigError, GKNError, JobFailed
from gkn_core.job import Job, frozen_array
from gkn_core.settings import Settings, validate_section

LayerName = Literal["all", "visible", "hidden", "hidden1", "hidden2"]
UNIT_PREFIX = {"visible": "v", "hidden": "h", "hidden1": "h1_", "hidden2": "h2_"}
MAX_VALUES = 50_000_000  # floats a recording may hold (200 MB): the view keeps every frame
N_COMPONENTS = 3


class TrajectorySettings(Settings):
    chains: Annotated[int, Field(ge=1, le=64)] = 6  # initial conditions run side by side
    steps: Annotated[int, Field(ge=1, le=100_000)] = 400  # Euler steps recorded
    transient: Annotated[int, Field(ge=0, le=1_000_000)] = 0  # Euler steps run first, not recorded
    layers: tuple[LayerName, ...] = ("all",)
    fit_steps: Annotated[int, Field(ge=1, le=100_000)] = 100  # steps the PCA basis is fitted on
    chunk: Annotated[int, Field(ge=1, le=10_000)] = 10  # Euler steps per job step
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0  # of the initial states

    @field_validator("layers")
    @classmethod
    def _distinct_layers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one layer (or all)")
        if len(set(value)) != len(value):
            raise ValueError("a layer is named twice")
        if "all" in value and len(value) > 1:
            raise ValueError("'all' already holds every layer; give it alone")
        return value


def trajectory_settings(raw: dict[str, Any]) -> TrajectorySettings:
    """Validated settings; a bad value raises ConfigError with one line."""
    return validate_section(TrajectorySettings, raw, "trajectory")


def model_layers(model: ChaoticRNN) -> list[tuple[str, int, int]]:
    """(name, first index, size) of each layer in the concatenated state, visible first."""
    nv = model.n_visible
    if model.arch == "unrestricted":
        return [("visible", 0, nv), ("hidden", nv, model.dim - nv)]
    names = ("visible", "hidden") if model.arch == "restricted2" else ("visible", "hidden1", "hidden2")
    starts = np.cumsum([0, *model.sizes[:-1]])
    return [(name, int(start), size) for name, start, size in zip(names, starts, model.sizes, strict=True)]


def recorded_units(model: ChaoticRNN, layers: tuple[str, ...]) -> np.ndarray:
    """Indices into the concatenated state of the units of `layers`, in the order given."""
    known = {name: (start, size) for name, start, size in model_layers(model)}
    if layers == ("all",):
        return np.arange(model.dim, dtype=np.int64)
    for name in layers:
        if name not in known:
            raise ConfigError(
                f"trajectory.layers: {name!r} is not a layer of a {model.arch} network "
                f"(its layers: {', '.join(known)}; or all)"
            )
    return np.concatenate([np.arange(known[n][0], sum(known[n]), dtype=np.int64) for n in layers])


def unit_names(layers: tuple[str, ...], layer_sizes: tuple[int, ...], units: np.ndarray) -> tuple[str, ...]:
    """'v12', 'h3' (restricted3: 'h1_3', 'h2_3') for each index into the concatenated state."""
    names: list[str] = []
    for name, size in zip(layers, layer_sizes, strict=True):
        names.extend(f"{UNIT_PREFIX[name]}{i}" for i in range(size))
    return tuple(names[int(u)] for u in units)


@dataclass(frozen=True)
class TrajectorySnapshot:
    step: int  # job steps done, 1..total_steps
    total_steps: int
    t: np.ndarray  # (n,) time of the new frames in units of tau (the transient counts)
    states: np.ndarray  # (chains, n, U) float32 states of the recorded units
    rates: np.ndarray  # (chains, n, Nv) float32 phi(v), for the image display
    projection: np.ndarray  # (chains, n, 3) float32 (states - mean) @ components.T
    explained: np.ndarray  # (3,) explained-variance fraction of each component (fit frames)
    elapsed: float
    units: np.ndarray  # (U,) indices of the recorded units into the concatenated state
    unit_names: tuple[str, ...]  # (U,) 'v12', 'h3', ...
    source: str  # "untrained" or "checkpoint <step>"
    g: float  # gain of the network's random couplings


@dataclass(frozen=True)
class TrajectoryRecording:
    """A whole trajectory set with what made it: enough to redraw it or run it again."""

    settings: TrajectorySettings
    model_config: ChaosModelConfig
    n_visible: int
    seed: int  # of the initial states (= settings.seed)
    model_seed: int | None  # of the network's random couplings, when the caller said it
    source: str
    layers: tuple[str, ...]  # the network's layers in state order
    layer_sizes: tuple[int, ...]
    units: np.ndarray  # (U,) int64
    t: np.ndarray  # (n,) float64, in units of tau
    states: np.ndarray  # (chains, n, U) float32
    rates: np.ndarray  # (chains, n, Nv) float32
    projection: np.ndarray  # (chains, n, 3) float32
    components: np.ndarray  # (3, U) float32, unit rows (zero rows when U < 3)
    mean: np.ndarray  # (U,) float32
    explained: np.ndarray  # (3,) float64

    @property
    def unit_names(self) -> tuple[str, ...]:
        return unit_names(self.layers, self.layer_sizes, self.units)


def fit_pca(states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean (U,), components (3, U) and explained-variance fractions (3,) of (..., U) states.

    Each component's sign makes its largest entry positive, so reruns and exports agree.
    """
    x = states.reshape(-1, states.shape[-1]).double()
    mean = x.mean(0)
    _, s, vh = torch.linalg.svd(x - mean, full_matrices=False)
    k = min(N_COMPONENTS, vh.shape[0])
    components = torch.zeros(N_COMPONENTS, x.shape[1], dtype=torch.float64, device=x.device)
    components[:k] = vh[:k]
    biggest = components.abs().argmax(1, keepdim=True)
    signs = torch.sign(components.gather(1, biggest))
    components *= torch.where(signs == 0, torch.ones_like(signs), signs)
    variance = s.square()
    explained = torch.zeros(N_COMPONENTS, dtype=torch.float64, device=x.device)
    if float(variance.sum()) > 0:
        explained[:k] = variance[:k] / variance.sum()
    return mean.float(), components.float(), explained


class TrajectoryJob(Job[TrajectorySnapshot]):
    def __init__(
        self,
        model: ChaoticRNN,
        settings: TrajectorySettings,
        source: str = "untrained",
        model_seed: int | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.settings = settings
        self.source = source
        self.model_seed = model_seed
        layers = model_layers(model)
        self.layers = tuple(name for name, _, _ in layers)
        self.layer_sizes = tuple(size for _, _, size in layers)
        units = recorded_units(model, settings.layers)
        self.units = frozen_array(units)
        self.unit_names = unit_names(self.layers, self.layer_sizes, self.units)
        values = settings.chains * (settings.steps + 1) * (len(self.units) + model.n_visible)
        if values > MAX_VALUES:
            raise ConfigError(
                f"trajectory: {settings.chains} chains x {settings.steps + 1} frames x "
                f"{len(self.units) + model.n_visible} values is {values / 1e6:.0f} M values, more than "
                f"{MAX_VALUES // 1_000_000} M: record fewer chains, steps or layers"
            )
        self._units_t = torch.from_numpy(units).to(model.device)
        self._first = min(settings.steps, max(settings.chunk, settings.fit_steps))
        self.total_steps = 1 + math.ceil((settings.steps - self._first) / settings.chunk)
        self._time_step = model.settings.dt / model.settings.tau
        self.generator = torch.Generator(device=model.device).manual_seed(settings.seed)
        self.states = model.random_state(settings.chains, self.generator)
        self.frames_done = 0  # Euler steps recorded after frame 0
        self._mean: torch.Tensor | None = None
        self._components: torch.Tensor | None = None
        self.explained = frozen_array(np.zeros(N_COMPONENTS))
        self._snapshots: list[TrajectorySnapshot] = []

    def _frame(self) -> torch.Tensor:
        return torch.cat(self.states, dim=1)  # a new tensor: run() overwrites self.states in place

    def _advance(self) -> TrajectorySnapshot:
        s = self.settings
        frames = []
        if self.steps_done == 0:
            if s.transient:
                self.model.run(self.states, s.transient, check=self.check_stop)
            frames.append(self._frame())
            n, first_index = self._first, 0
        else:
            n, first_index = min(s.chunk, s.steps - self.frames_done), self.frames_done + 1
        for i in range(n):
            if i % CHECK_EVERY == 0:
                self.check_stop()  # the first step (transient and PCA fit) is long: Stop answers inside
            self.model.run(self.states, 1)
            frames.append(self._frame())
        flat = torch.stack(frames, dim=1)  # (chains, frames, dim)
        if not bool(torch.isfinite(flat).all()):
            raise JobFailed(f"the trajectories diverged near Euler step {self.frames_done + n}")
        states = flat[:, :, self._units_t]
        if self._components is None:
            mean, self._components, explained = fit_pca(states[:, : min(s.fit_steps, s.steps) + 1])
            self._mean = mean
            self.explained = frozen_array(explained)
        projection = (states - self._mean) @ self._components.T
        self.frames_done += n
        index = np.arange(first_index, first_index + len(frames))
        snapshot = TrajectorySnapshot(
            step=self.steps_done + 1,
            total_steps=self.total_steps,
            t=frozen_array((s.transient + index) * self._time_step),
            states=frozen_array(states),
            rates=frozen_array(torch.tanh(flat[:, :, : self.model.n_visible])),
            projection=frozen_array(projection),
            explained=self.explained,
            elapsed=self.elapsed,
            units=self.units,
            unit_names=self.unit_names,
            source=self.source,
            g=float(self.model.settings.g),
        )
        self._snapshots.append(snapshot)
        return snapshot

    def recording(self) -> TrajectoryRecording:
        """Every frame recorded so far with its settings; safe to call from another thread."""
        parts = list(self._snapshots)  # a copy: the job's thread may append meanwhile
        if not parts or self._components is None or self._mean is None:
            raise GKNError("nothing to record yet: the trajectories have not started")

        def joined(name: str, axis: int) -> np.ndarray:
            return frozen_array(np.concatenate([getattr(p, name) for p in parts], axis=axis))

        return TrajectoryRecording(
            settings=self.settings,
            model_config=self.model.settings,
            n_visible=self.model.n_visible,
            seed=self.settings.seed,
            model_seed=self.model_seed,
            source=self.source,
            layers=self.layers,
            layer_sizes=self.layer_sizes,
            units=self.units,
            t=joined("t", 0),
            states=joined("states", 1),
            rates=joined("rates", 1),
            projection=joined("projection", 1),
            components=frozen_array(self._components),
            mean=frozen_array(self._mean),
            explained=self.explained,
        )
