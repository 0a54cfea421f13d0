"""Settings that start a run, from somewhere other than a shipped preset: a run file (`--from RUN.h5`,
"train again with these settings") or a user's own preset file (`--config FILE.toml`), and writing the
settings of a run as such a file.

A preset file has the schema of an entry of gkn_core/presets/*.toml: the sections `data`, `model`,
`train`, `sample` (and `seed`, `device`, `description`) at the top level, or one or more named tables
of them (then `--preset NAME` picks one; a file with one table needs no name).
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

from gkn_core.errors import ConfigError, GKNError

ENTRY_KEYS = ("description", "preset", "seed", "device", "data", "model", "train", "sample")


def settings_of_run(path: str | Path, kind: str) -> dict[str, Any]:
    """The raw settings a run was trained with (checked to be a run of `kind`)."""
    from gkn_core.runs.reader import open_run

    with open_run(path) as run:
        if run.kind != kind:
            raise GKNError(f"--from: {path} is a {run.kind} run, not a {kind} run")
        return json.loads(run.config.model_dump_json())


def settings_of_file(path: str | Path, name: str | None = None) -> dict[str, Any]:
    """The raw settings of a user's preset file (the entry `name` of a file of several)."""
    path = Path(path)
    if not path.is_file():
        raise GKNError(f"--config: {path}: no such file")
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--config: {path} is not valid TOML ({str(exc).splitlines()[0]})") from None
    if set(table) & {"data", "model", "train", "sample"}:
        entry, entry_name = table, table.get("preset") or path.stem
    else:
        entries = {k: v for k, v in table.items() if isinstance(v, dict)}
        if not entries:
            raise ConfigError(f"--config: {path} holds no settings (no data, model or train section)")
        if name is None and len(entries) > 1:
            raise ConfigError(
                f"--config: {path} holds presets {', '.join(entries)}: choose one with --preset"
            )
        entry_name = name if name is not None else next(iter(entries))
        if entry_name not in entries:
            raise ConfigError(f"--config: {path} has no preset {entry_name!r} (it has {', '.join(entries)})")
        entry = entries[entry_name]
    unknown = sorted(set(entry) - set(ENTRY_KEYS))
    if unknown:
        raise ConfigError(
            f"--config: {path}: unknown setting {unknown[0]!r} (known: {', '.join(ENTRY_KEYS)})"
        )
    raw = {k: v for k, v in entry.items() if k != "description"}
    raw["preset"] = str(entry_name)
    return raw


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return (
            repr(value)
            if math.isfinite(value)
            else ("nan" if math.isnan(value) else f"{'-' if value < 0 else ''}inf")
        )
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items() if v is not None) + " }"
    raise ConfigError(f"cannot write {value!r} to a preset file")


def settings_toml(settings: dict[str, Any], name: str, description: str = "") -> str:
    """One preset entry named `name`, in the shape of gkn_core/presets/*.toml."""
    lines = [f"[{json.dumps(name)}]"]
    if description:
        lines.append(f"description = {json.dumps(description)}")
    for key, value in settings.items():
        if key in ("preset", "description") or value is None:
            continue
        lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def write_settings_file(config: Any, path: str | Path, name: str | None = None) -> Path:
    """Write a validated config as a preset file that `gkn train --config` (and the app) read back."""
    path = Path(path)
    settings = json.loads(config.model_dump_json())
    text = settings_toml(settings, name or path.stem, f"saved from GKN Studio (started from {config.preset})")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise GKNError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def starting_settings(
    kind: str,
    preset: str | None,
    from_run: Path | None,
    config_file: Path | None,
    overrides: dict[str, Any],
) -> Any:
    """The validated config of `gkn train KIND`: a run's settings (--from), a preset file's (--config)
    or a shipped preset's, with the command line's options on top."""
    from gkn_core.families import family
    from gkn_core.settings import merge_settings, preset_settings, validate_settings

    if from_run is not None and config_file is not None:
        raise GKNError("give either --from or --config, not both")
    if from_run is not None:
        if preset is not None:
            raise GKNError("give either --from or --preset, not both")
        raw = merge_settings(settings_of_run(from_run, kind), overrides)
    elif config_file is not None:
        raw = merge_settings(settings_of_file(config_file, preset), overrides)
    else:
        fam = family(kind)
        raw = preset_settings(fam.presets_file, preset or fam.default_preset, overrides, fam.preset_label)
    return validate_settings(family(kind).config_model(), raw)
