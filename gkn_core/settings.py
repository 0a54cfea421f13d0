"""What every family's settings share: the pydantic base, the device setting, one-line validation
errors, and presets as data (one TOML table per run kind in gkn_core/presets).

A bad value raises ConfigError with one line naming the field, the rule and the value given.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from gkn_core.device import DEVICE_PATTERN
from gkn_core.errors import ConfigError

SettingsT = TypeVar("SettingsT", bound=BaseModel)


def _known_device(value: str) -> str:
    if not DEVICE_PATTERN.match(value):
        raise ValueError("unknown device (use auto, cpu, cuda or cuda:N)")
    return value


DeviceName = Annotated[str, AfterValidator(_known_device)]


class Settings(BaseModel):
    """Immutable, and unknown keys are errors rather than silently ignored typos."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class RunSettings(Settings):
    """What every family's run settings begin with; each family adds its data, model, train and
    sample sections."""

    preset: str | None = None
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    device: DeviceName = "auto"

    def sampling_seed(self, asked: int | None, samplings_before: int) -> int:
        """The seed of a run's next sampling: the one asked for, else one of its own, derived from the
        run's seed and the samplings it already holds (so that a second sampling draws new chains)."""
        return asked if asked is not None else self.seed + 1000 + samplings_before


def _shown_key(part: object) -> str:
    """A settings key as written in a message: plain names as they are, anything odd quoted."""
    text = str(part)
    return text if text.replace("_", "a").isalnum() else repr(text)


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_validation_error(exc: ValidationError) -> str:
    """One line for the first problem: 'model.layers: must be >= 1 (got 0)'."""
    first = exc.errors()[0]
    where = ".".join(_shown_key(part) for part in first["loc"]) or "config"
    message = " ".join(first["msg"].removeprefix("Value error, ").split())
    message = message.replace("Input should be", "must be")
    if first["type"] == "extra_forbidden":
        message = "unknown setting"
    given = first.get("input")
    shown = "" if isinstance(given, dict) or first["type"] == "missing" else f" (got {_shorten(repr(given))})"
    extra = len(exc.errors()) - 1
    more = f"; and {extra} more problem{'s' if extra > 1 else ''}" if extra else ""
    return f"{where}: {message}{shown}{more}"


def validate_settings(model: type[SettingsT], raw: dict[str, Any]) -> SettingsT:
    """Validate a whole config of any run kind; a bad value raises ConfigError with one line."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


def validate_section(model: type[BaseModel], raw: dict[str, Any], section: str) -> Any:
    """Validate one section (e.g. SampleConfig) with the same one-line errors as a whole config."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{section}.{describe_validation_error(exc)}") from None


@cache
def preset_table(filename: str) -> dict[str, dict[str, Any]]:
    """Presets as data: one TOML file of named tables per run kind, shipped in gkn_core/presets."""
    text = resources.files("gkn_core.presets").joinpath(filename).read_text(encoding="utf-8")
    return tomllib.loads(text)


def preset_table_names(filename: str) -> list[str]:
    return list(preset_table(filename))


def preset_table_description(filename: str, name: str) -> str:
    return str(preset_table(filename)[name].get("description", ""))


def preset_settings(
    filename: str, name: str, overrides: dict[str, Any] | None = None, label: str = "preset"
) -> dict[str, Any]:
    """The raw settings of a named preset with `overrides` merged in, not yet validated."""
    table = preset_table(filename)
    if name not in table:
        raise ConfigError(f"preset: unknown {label} {name!r} (known: {', '.join(table)})")
    raw = {k: v for k, v in table[name].items() if k != "description"}
    raw["preset"] = name
    return merge_settings(raw, overrides or {})


class Presets(Generic[SettingsT]):
    """A family's named presets: its TOML table in gkn_core/presets, validated by its settings model."""

    def __init__(self, filename: str, model: type[SettingsT], label: str = "preset") -> None:
        self.filename, self.model, self.label = filename, model, label

    def names(self) -> list[str]:
        return preset_table_names(self.filename)

    def description(self, name: str) -> str:
        return preset_table_description(self.filename, name)

    def config(self, name: str, overrides: dict[str, Any] | None = None) -> SettingsT:
        """The named preset with `overrides` (nested sections) applied, validated."""
        return validate_settings(self.model, preset_settings(self.filename, name, overrides, self.label))


def merge_settings(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Nested dict merge; overrides win, sections are merged key by key."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_settings(merged[key], value)
        else:
            merged[key] = value
    return merged
