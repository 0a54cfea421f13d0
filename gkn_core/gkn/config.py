"""Every setting of a GKN run, validated in one place.

A bad value raises ConfigError with one line naming the field, the rule and the value given.
Presets are data (`presets/gkn.toml`), merged with user overrides and then validated like any input.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from gkn_core.errors import ConfigError
from gkn_core.settings import (
    Presets,
    RunSettings,
    Settings,
    validate_settings,
)

PositiveInt = Annotated[int, Field(ge=1)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]

MAX_GENERATED_VALUES = 50_000_000  # a generated toy set is made in memory at once (float64)

Activation = Literal["relu", "tanh", "leaky_relu", "silu"]
ValueRange = Literal["unit", "symmetric"]
DataSource = Literal[
    "points", "uniform", "blobs", "ring", "moons", "digits8", "mnist", "fashion", "fashion8", "file"
]
NoiseLaw = Literal["gaussian", "uniform"]
StartLaw = Literal["uniform", "clipped_normal"]


class DataConfig(Settings):
    source: DataSource = "points"
    points: list[list[FiniteFloat]] | None = None
    n: Annotated[int, Field(ge=1, le=1_000_000)] = 256
    dim: Annotated[int, Field(ge=1, le=4096)] = 2
    path: str | None = None
    # "unit" is [0, 1] with a Sigmoid output; "symmetric" is [-1, 1] with a Tanh output.
    value_range: ValueRange = "unit"
    limit: PositiveInt | None = None

    @field_validator("points", mode="before")
    @classmethod
    def _scalars_are_1d_points(cls, value: Any) -> Any:
        if isinstance(value, list | tuple) and value and not isinstance(value[0], list | tuple):
            return [[v] for v in value]
        return value

    @model_validator(mode="after")
    def _source_needs_its_fields(self) -> DataConfig:
        if self.source == "points":
            if not self.points:
                raise ValueError("source 'points' needs a non-empty list of points")
            if len({len(p) for p in self.points}) != 1 or not self.points[0]:
                raise ValueError("all points must have the same, non-zero number of coordinates")
            low, high = (0.0, 1.0) if self.value_range == "unit" else (-1.0, 1.0)
            for point in self.points:
                for v in point:
                    if not low <= v <= high:
                        raise ValueError(
                            f"point value {v} is outside the {self.value_range} range [{low}, {high}]"
                        )
        if self.source == "file" and not self.path:
            raise ValueError("source 'file' needs a path")
        if self.source in ("uniform", "blobs", "ring", "moons") and self.n * self.dim > MAX_GENERATED_VALUES:
            raise ValueError(
                f"n x dim = {self.n * self.dim:,} generated values; at most {MAX_GENERATED_VALUES:,}"
            )
        return self

    @property
    def is_image(self) -> bool:
        return self.source in ("digits8", "mnist", "fashion", "fashion8", "file")


class ModelConfig(Settings):
    # L counts Linear layers, as in the reference code: L=7 is Linear(D,H), 5 x Linear(H,H), Linear(H,D).
    layers: Annotated[int, Field(ge=1, le=128)] = 7
    hidden: Annotated[int, Field(ge=1, le=65536)] = 10
    activation: Activation = "relu"


class TrainConfig(Settings):
    steps: Annotated[int, Field(ge=1, le=100_000_000)] = 2000
    lr: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1e-3
    batch_size: PositiveInt | None = None  # None: the full data set in every step
    keep_best: bool = True  # the reference keeps the best batch-loss weights, not the last
    checkpoint_every: PositiveInt = 500
    manifold_every: PositiveInt = 100  # toy data only: record f(x) and the loss on a grid
    manifold_grid: Annotated[int, Field(ge=2, le=4096)] = 100


class SampleConfig(Settings):
    chains: Annotated[int, Field(ge=1, le=1_000_000)] = 64
    steps: Annotated[int, Field(ge=1, le=1_000_000)] = 200
    noise: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.01
    noise_law: NoiseLaw = "gaussian"
    start: StartLaw = "uniform"
    # Clipped normal start: mean at the centre of the range, std as a fraction of its width
    # (0.5 on [0, 1] is the reference code's clip(N(0.5, 0.5^2), 0, 1)).
    start_std: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 0.5
    burn_in: Annotated[int, Field(ge=0)] = 0
    seed: Annotated[int, Field(ge=0, lt=2**63)] | None = None  # None: derived from the run seed

    @model_validator(mode="after")
    def _burn_in_inside_chain(self) -> SampleConfig:
        if self.burn_in >= self.steps:
            raise ValueError(f"burn_in ({self.burn_in}) must be smaller than steps ({self.steps})")
        return self


class GKNConfig(RunSettings):
    data: DataConfig = DataConfig(points=[[0.2], [0.8]])
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    sample: SampleConfig = SampleConfig()


def validate_config(raw: dict[str, Any]) -> GKNConfig:
    return validate_settings(GKNConfig, raw)


PRESETS = Presets("gkn.toml", GKNConfig)
preset_names = PRESETS.names
preset_description = PRESETS.description
preset_config = PRESETS.config


def parse_points(text: str) -> list[list[float]]:
    """'0.2,0.8' is two 1D points; '0.2 0.2; 0.8 0.8' (or with commas) is two 2D points."""
    try:
        if ";" in text:
            return [
                [float(v) for v in row.replace(",", " ").split()] for row in text.split(";") if row.strip()
            ]
        return [[float(v)] for v in text.replace(",", " ").split()]
    except ValueError:
        raise ConfigError(
            f"--points: cannot read {text!r} as numbers (e.g. '0.2,0.8' or '0.2 0.2; 0.8 0.8')"
        ) from None
