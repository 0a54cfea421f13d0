"""Every setting of a chaotic-RNN run (SPEC-NOTES section 2), validated like the GKN settings.

A bad value raises ConfigError with one line. Presets are data (`presets/chaos.toml`). The visible
size Nv is not a setting: it is the number of pixels of the data. Data always lie in [-1, 1].
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from gkn_core.settings import (
    Presets,
    RunSettings,
    Settings,
    validate_settings,
)

Architecture = Literal["unrestricted", "restricted2", "restricted3"]
ChaosDataSource = Literal["digits8", "mnist", "fashion", "fashion8", "file"]
Size = Annotated[int, Field(ge=1, le=65536)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class ChaosDataConfig(Settings):
    source: ChaosDataSource = "digits8"
    path: str | None = None
    limit: Annotated[int, Field(ge=1)] | None = None
    value_range: Literal["symmetric"] = "symmetric"  # the models need data in [-1, 1]

    @model_validator(mode="after")
    def _file_needs_path(self) -> ChaosDataConfig:
        if self.source == "file" and not self.path:
            raise ValueError("source 'file' needs a path")
        return self


class ChaosModelConfig(Settings):
    arch: Architecture = "restricted2"
    Nh: Size = 100  # hidden units (the unrestricted model: units besides the visible ones)
    Nh2: Size = 100  # second hidden layer (restricted3 only)
    g: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] = 1.5  # gain of the random couplings
    tau: Positive = 10.0
    dt: Positive = 1.0
    T: Positive = 100.0  # time of a phase; a phase is round(T / dt) Euler steps

    @model_validator(mode="after")
    def _stable_euler(self) -> ChaosModelConfig:
        if self.dt > self.tau:
            raise ValueError(f"dt ({self.dt:g}) must not exceed tau ({self.tau:g}) (Euler would overshoot)")
        if round(self.T / self.dt) < 1:
            raise ValueError(f"T ({self.T:g}) must be at least one step dt ({self.dt:g})")
        if round(self.T / self.dt) > 100_000:
            raise ValueError(f"T / dt = {self.T / self.dt:g} steps per phase is more than 100000")
        return self

    @property
    def n_steps(self) -> int:
        return max(1, round(self.T / self.dt))


# The largest exponent's estimate, the same everywhere (training curve, Lyapunov tab, `gkn lyapunov`):
# Euler steps averaged over and trajectories (chains); the transient is one phase T/dt.
LARGEST_EXPONENT_STEPS = 200
LARGEST_EXPONENT_CHAINS = 4


class ChaosTrainConfig(Settings):
    steps: Annotated[int, Field(ge=1, le=100_000_000)] = 3000
    k: Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)] = 0.01  # learning rate
    M: Annotated[int, Field(ge=1, le=1_000_000)] = 200  # minibatch (and free-phase chains)
    metrics_every: Annotated[int, Field(ge=1)] = 100  # E^(2), E^(s) ... on a fresh sample set
    metrics_samples: Annotated[int, Field(ge=2, le=1_000_000)] = 500
    lyapunov_every: Annotated[int, Field(ge=1)] | None = 500  # None: never during training
    lyapunov_steps: Annotated[int, Field(ge=1)] = LARGEST_EXPONENT_STEPS
    lyapunov_chains: Annotated[int, Field(ge=1)] = LARGEST_EXPONENT_CHAINS
    sample_every: Annotated[int, Field(ge=1)] | None = 500  # grid of samples kept in the run
    n_samples: Annotated[int, Field(ge=1, le=10_000)] = 48
    checkpoint_every: Annotated[int, Field(ge=1)] = 1000


class ChaosSampleConfig(Settings):
    n: Annotated[int, Field(ge=1, le=1_000_000)] = 1000
    T: Positive | None = None  # None: the model's T
    record_units: Annotated[int, Field(ge=0, le=100_000)] = 16  # trajectories of the first units
    record_chains: Annotated[int, Field(ge=0, le=10_000)] = 8
    seed: Annotated[int, Field(ge=0, lt=2**63)] | None = None


class ChaosConfig(RunSettings):
    data: ChaosDataConfig = ChaosDataConfig()
    model: ChaosModelConfig = ChaosModelConfig()
    train: ChaosTrainConfig = ChaosTrainConfig()
    sample: ChaosSampleConfig = ChaosSampleConfig()


def validate_chaos_config(raw: dict[str, Any]) -> ChaosConfig:
    return validate_settings(ChaosConfig, raw)


PRESETS = Presets("chaos.toml", ChaosConfig, "chaos preset")
chaos_preset_names = PRESETS.names
chaos_preset_description = PRESETS.description
chaos_preset_config = PRESETS.config
