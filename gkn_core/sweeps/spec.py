"""What a sweep is: one kind of job, base settings, a grid of values over config fields, and seeds.

A spec comes from a TOML sweep file, from `gkn sweep` options, or both (options win). Fields are
dotted paths into the kind's config (`model.layers`, `data.n`, `train.lr`, `model.g`); a bare name
(`layers`) is accepted when exactly one field ends with it. `preset` may be swept too. Every job of
the grid is validated with the kind's own pydantic config (`plan_jobs`) before any job starts, so a
bad value fails at once with one line.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, Field

from gkn_core.errors import ConfigError
from gkn_core.families import SWEEP_KINDS, family, load, sweep_kind
from gkn_core.settings import Settings, preset_settings, validate_section, validate_settings

SPEC_FORMAT = "gkn-studio-sweep"
SPEC_VERSION = 1


class MeasureConfig(Settings):
    """How the end metrics are measured (see docs/sweeps.md)."""

    tol: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 0.01  # burn-in: max-norm distance to data
    max_steps: Annotated[int, Field(ge=1, le=100_000)] = 100  # burn-in: iterations tried
    grid: Annotated[int, Field(ge=2, le=4096)] | None = None  # grid points per axis (None: by dimension)
    random_starts: Annotated[int, Field(ge=1, le=1_000_000)] = 1024  # starts beyond 4 dimensions
    flat_threshold: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 0.1


def config_model(kind: str) -> type[BaseModel]:
    """The settings model of one job of a sweep kind (gkn_core.families)."""
    return sweep_kind(kind).config_model()


def _section_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is Annotated:
        return _section_model(get_args(annotation)[0])
    return None


def config_fields(kind: str) -> list[str]:
    """Every leaf setting of a kind's config as a dotted path (`model.layers`, `seed`, ...)."""

    def walk(model: type[BaseModel], prefix: str) -> list[str]:
        paths = []
        for name, info in model.model_fields.items():
            section = _section_model(info.annotation)
            paths.extend(walk(section, f"{prefix}{name}.") if section else [f"{prefix}{name}"])
        return paths

    return walk(config_model(kind), "")


def resolve_field(kind: str, name: str) -> str:
    """The dotted path a user's field name means; ConfigError with one line when it means none."""
    name = name.strip()
    if name == "seed":
        raise ConfigError("seed is not swept like a field: give the number of seeds (--seeds N or seeds = N)")
    paths = config_fields(kind)
    if name in paths:
        return name
    sections = {p.rsplit(".", 1)[0] for p in paths if "." in p}
    if name in sections:
        raise ConfigError(f"{name!r} is a section of the {kind} settings; name one of its fields")
    matches = [p for p in paths if p.endswith("." + name)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ConfigError(f"field {name!r} is ambiguous for {kind} jobs: {' or '.join(matches)}")
    close = difflib.get_close_matches(name, paths + [p.rsplit(".", 1)[-1] for p in paths], n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"unknown field {name!r} for {kind} jobs{hint}")


def flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested TOML tables to dotted keys; lists and scalars are values."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """Dotted keys to the nested sections the config models take."""
    nested: dict[str, Any] = {}
    for path, value in flat.items():
        *sections, leaf = path.split(".")
        target = nested
        for section in sections:
            target = target.setdefault(section, {})
        target[leaf] = value
    return nested


def parse_value(text: str) -> Any:
    """A value written on the command line: a TOML value (2, 1e-3, true, [[0.2], [0.8]]) or a word."""
    text = text.strip()
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


_RANGE = re.compile(r"^\s*(-?[\d.eE+-]+)\s*\.\.\s*(-?[\d.eE+-]+)\s*(?::\s*([\d.eE+-]+))?\s*$")


def parse_values(text: str) -> list[Any]:
    """`2,4,7`, `relu,tanh`, `2..12` (integers, both ends included), `0.5..2.5:0.5`, or a TOML array."""
    match = _RANGE.match(text)
    if match:
        start, stop, step = (parse_value(v) if v else None for v in match.groups())
        if not all(isinstance(v, int | float) for v in (start, stop) if v is not None) or (
            step is not None and not isinstance(step, int | float)
        ):
            raise ConfigError(f"cannot read {text!r} as a range (e.g. 2..12 or 0.5..2.5:0.5)")
        step = 1 if step is None else step
        if step <= 0 or stop < start:
            raise ConfigError(f"range {text!r} is empty (the step must be > 0 and start <= stop)")
        count = int((stop - start) / step + 1e-9) + 1
        if count > 100_000:
            raise ConfigError(f"range {text!r} has {count} values; that is too many for one grid axis")
        values = [start + i * step for i in range(count)]
        if all(isinstance(v, int) for v in (start, stop, step)):
            return [int(v) for v in values]
        return [round(float(v), 12) for v in values]  # 0.1 * 3 should read 0.3, not 0.30000000000000004
    value = parse_value(text)
    if isinstance(value, list):
        return value
    return [parse_value(part) for part in text.split(",") if part.strip()]


def parse_assignment(text: str, option: str) -> tuple[str, str]:
    if "=" not in text:
        raise ConfigError(f"{option}: expected FIELD=VALUES, got {text!r} (e.g. layers=2,4,7)")
    name, values = text.split("=", 1)
    if not name.strip() or not values.strip():
        raise ConfigError(f"{option}: expected FIELD=VALUES, got {text!r} (e.g. layers=2,4,7)")
    return name.strip(), values


@dataclass(frozen=True)
class SweepSpec:
    """A resolved sweep: every field a dotted path of the kind's config."""

    kind: str
    preset: str | None
    grid: dict[str, list[Any]]
    fixed: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)
    metrics: tuple[str, ...] = ()
    measure: MeasureConfig = field(default_factory=MeasureConfig)
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready; `sweep.json` in the folder holds exactly this."""
        return {
            "format": SPEC_FORMAT,
            "format_version": SPEC_VERSION,
            "kind": self.kind,
            "preset": self.preset,
            "description": self.description,
            "seeds": list(self.seeds),
            "grid": self.grid,
            "set": self.fixed,
            "metrics": list(self.metrics),
            "measure": self.measure.model_dump(mode="json"),
        }

    def identity(self) -> dict[str, Any]:
        """What makes two specs the same sweep (the description is only words)."""
        return {k: v for k, v in self.as_dict().items() if k != "description"}

    @property
    def fields(self) -> list[str]:
        return list(self.grid)


class _SweepFile(Settings):
    """The keys a sweep file may have (TOML; `sweep.json` of a folder has the same ones)."""

    format: str | None = None
    format_version: int | None = None
    software_version: str | None = None  # written into sweep.json; a folder's spec is a sweep file too
    created: str | None = None
    kind: Literal[tuple(SWEEP_KINDS)] = "gkn"  # type: ignore[valid-type]
    preset: str | None = None
    description: str = ""
    seeds: Annotated[int, Field(ge=1, le=10_000)] | list[Annotated[int, Field(ge=0, lt=2**63)]] = 1
    grid: dict[str, Any] = Field(default_factory=dict)
    set: dict[str, Any] = Field(default_factory=dict)
    metrics: list[str] | None = None
    measure: dict[str, Any] = Field(default_factory=dict)


def read_sweep_file(path: str | Path) -> dict[str, Any]:
    """The raw contents of a TOML or JSON sweep file (validated by `build_spec`)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"sweep file {path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"sweep file {path}: {str(exc).splitlines()[0]}") from None
    except OSError as exc:
        raise ConfigError(f"sweep file {path}: {exc.strerror or exc}") from None
    return raw


def build_spec(raw: dict[str, Any]) -> SweepSpec:
    """Validate the keys of a sweep file (or the options, in the same shape) and resolve its fields."""
    parsed = validate_settings(_SweepFile, raw)
    kind = parsed.kind
    entry = sweep_kind(kind)
    descriptions = entry.metric_descriptions()
    grid: dict[str, list[Any]] = {}
    for name, values in flatten(parsed.grid).items():
        path = resolve_field(kind, name)
        values = values if isinstance(values, list) else [values]
        if not values:
            raise ConfigError(f"grid: {path} has no values")
        if path in grid:
            raise ConfigError(f"grid: {path} is given twice")
        grid[path] = values
    fixed = {resolve_field(kind, name): value for name, value in flatten(parsed.set).items()}
    for path in fixed:
        if path in grid:
            raise ConfigError(f"{path} is both swept (grid) and fixed (set); keep one")
    seeds = list(range(parsed.seeds)) if isinstance(parsed.seeds, int) else parsed.seeds
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds: give a count or a list of distinct seeds (got {parsed.seeds})")
    metrics = parsed.metrics if parsed.metrics is not None else list(entry.default_metrics)
    for name in metrics:
        if name not in descriptions:
            raise ConfigError(f"metrics: unknown {kind} metric {name!r} (known: {', '.join(descriptions)})")
    if not metrics:
        raise ConfigError("metrics: name at least one end metric")

    measure = validate_section(MeasureConfig, parsed.measure, "measure")
    preset = parsed.preset if parsed.preset is not None else entry.default_preset
    if "preset" in fixed:
        preset = fixed.pop("preset")
    return SweepSpec(
        kind=kind,
        preset=preset,
        grid=grid,
        fixed=fixed,
        seeds=tuple(seeds),
        metrics=tuple(dict.fromkeys(metrics)),
        measure=measure,
        description=parsed.description,
    )


@dataclass(frozen=True)
class SweepJob:
    """One run of a sweep: a grid point and a seed, with its validated settings."""

    index: int
    name: str  # file stem in DIR/runs: "0003_layers=4_seed=1"
    kind: str
    point: dict[str, Any]  # the swept values by dotted path
    seed: int
    settings: dict[str, Any]  # the validated config, JSON-ready
    metrics: tuple[str, ...]
    measure: dict[str, Any]

    @property
    def run_file(self) -> str | None:
        """The run file, relative to the sweep folder; lyapunov jobs only record numbers."""
        return f"runs/{self.name}.h5" if sweep_kind(self.kind).writes_run else None

    @property
    def record_file(self) -> str:
        return f"runs/{self.name}.json"


def _short_names(paths: list[str]) -> dict[str, str]:
    """`model.layers` -> `layers` when no other swept field ends the same way."""
    last = [p.rsplit(".", 1)[-1] for p in paths]
    return {p: (leaf if last.count(leaf) == 1 else p) for p, leaf in zip(paths, last, strict=True)}


def format_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    return json.dumps(value, separators=(",", ":"))


def describe_point(point: dict[str, Any]) -> str:
    short = _short_names(list(point))
    return ", ".join(f"{short[k]}={format_value(v)}" for k, v in point.items())


def _job_name(index: int, point: dict[str, Any], seed: int) -> str:
    short = _short_names(list(point))
    label = "_".join(f"{short[k]}={format_value(v)}" for k, v in point.items())
    label = re.sub(r"[^A-Za-z0-9._=+-]+", "-", f"{label}_seed={seed}" if label else f"seed={seed}")
    if len(label) > 100:  # long list values: keep names short but distinct
        label = label[:80] + "-" + hashlib.sha1(label.encode()).hexdigest()[:10]
    return f"{index:04d}_{label}"


def _base_settings(kind: str, preset: str | None, overrides: dict[str, Any]) -> dict[str, Any]:
    entry = sweep_kind(kind)
    if entry.base_settings is not None:
        return load(entry.base_settings)(preset, overrides)
    return preset_settings(
        family(entry.family).presets_file, preset or entry.default_preset, overrides, f"{kind} preset"
    )


def plan_jobs(spec: SweepSpec) -> list[SweepJob]:
    """Every job of the sweep, each validated; the first bad one raises ConfigError (one line)."""
    model = config_model(spec.kind)
    paths = list(spec.grid)
    jobs: list[SweepJob] = []
    points = [dict(zip(paths, values, strict=True)) for values in itertools.product(*spec.grid.values())]
    for point in points:
        values = {**spec.fixed, **point}
        preset = values.pop("preset", spec.preset)
        for seed in spec.seeds:
            where = f" (grid point {describe_point(point)}, seed {seed})" if point else f" (seed {seed})"
            try:
                raw = _base_settings(spec.kind, preset, nest(values))
                raw["seed"] = seed
                config = validate_settings(model, raw)
            except ConfigError as exc:
                raise ConfigError(f"{exc}{where}") from None
            index = len(jobs)
            jobs.append(
                SweepJob(
                    index=index,
                    name=_job_name(index, point, seed),
                    kind=spec.kind,
                    point=point,
                    seed=seed,
                    settings=config.model_dump(mode="json"),
                    metrics=spec.metrics,
                    measure=spec.measure.model_dump(mode="json"),
                )
            )
    return jobs


def job_config(job: SweepJob) -> Any:
    """The job's settings as its kind's config object (validated again: they crossed a process)."""
    return validate_settings(config_model(job.kind), job.settings)
