"""Config parsing fuzzed with hypothesis: whatever settings arrive (a preset override, a run file's
stored config, a sweep spec), the validators either accept them or raise ConfigError with one line.

Each validator is one row of VALIDATORS: (name, function taking the raw value, the pydantic model
whose fields the generated dicts use). The lead adds the sweep spec validator as a row.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from conftest import counts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from gkn_core.chaos.config import (
    ChaosConfig,
    ChaosSampleConfig,
    chaos_preset_config,
    chaos_preset_names,
    validate_chaos_config,
)
from gkn_core.errors import ConfigError, GKNError
from gkn_core.gkn.config import (
    GKNConfig,
    SampleConfig,
    parse_points,
    preset_config,
    preset_names,
    validate_config,
)
from gkn_core.settings import describe_validation_error, validate_section, validate_settings
from gkn_core.sweeps.spec import _SweepFile as SweepFile
from gkn_core.sweeps.spec import build_spec

EXAMPLES = counts(quick=150, full=3000)
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=False
)

# Values a user (or a damaged file) could put anywhere: the product's own words among them, so that
# many examples get past the first check and reach the deeper ones.
WORDS = [
    "relu", "tanh", "silu", "points", "uniform", "blobs", "ring", "moons", "digits8", "mnist", "file",
    "unit", "symmetric", "gaussian", "clipped_normal", "auto", "cpu", "cuda", "cuda:0", "cuda:99",
    "unrestricted", "restricted2", "restricted3", "1d", "2d", "", "nan", "-1", "1e400",
]  # fmt: skip
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.integers(min_value=-3, max_value=3000)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.floats(min_value=-2, max_value=2)
    | st.sampled_from(WORDS)
    | st.text(max_size=12)
)
anything = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def fields_of(model: type[BaseModel]) -> st.SearchStrategy[tuple[str, Any]]:
    """(key, value) pairs, keys mostly the model's own field names (sections recursively)."""
    strategies = {}
    for name, info in model.model_fields.items():
        sub = info.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            strategies[name] = settings_dicts(sub) | anything
        else:
            strategies[name] = anything
    keys = st.sampled_from(list(strategies)) | st.text(max_size=8)
    return keys.flatmap(lambda key: st.tuples(st.just(key), strategies.get(key, anything)))


def settings_dicts(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    return st.lists(fields_of(model), max_size=6).map(dict)


def one_line(exc: GKNError) -> str:
    text = str(exc)
    assert text and "\n" not in text, repr(text)
    return text


def section(model: type[BaseModel]):
    return lambda raw: validate_section(model, raw, "sample")


VALIDATORS = [
    ("gkn config", validate_config, GKNConfig),
    ("chaos config", validate_chaos_config, ChaosConfig),
    ("gkn sample settings", section(SampleConfig), SampleConfig),
    ("chaos sample settings", section(ChaosSampleConfig), ChaosSampleConfig),
    ("gkn preset + overrides", lambda raw: preset_config(preset_names()[0], raw), GKNConfig),
    ("chaos preset + overrides", lambda raw: chaos_preset_config(chaos_preset_names()[0], raw), ChaosConfig),
    ("sweep spec", lambda raw: build_spec(raw) and validate_settings(SweepFile, raw), SweepFile),
]


@pytest.mark.parametrize("name, validate, model", VALIDATORS, ids=[v[0] for v in VALIDATORS])
def test_validators_accept_or_raise_one_config_error(name, validate, model, tally):
    outcomes = {"accepted": 0, "refused": 0}

    @FUZZ
    @given(raw=settings_dicts(model))
    def check(raw: dict[str, Any]) -> None:
        try:
            config = validate(raw)
        except ConfigError as exc:
            one_line(exc)
            outcomes["refused"] += 1
            return
        assert isinstance(config, model)
        # What was accepted is usable: it survives a JSON round trip (as in a run file) unchanged.
        assert type(config).model_validate_json(config.model_dump_json()) == config
        outcomes["accepted"] += 1

    check()
    assert outcomes["refused"] > 0
    tally.add("config fuzz examples", sum(outcomes.values()))


@FUZZ
@given(text=st.text(max_size=200) | st.sampled_from(['{"model": {"layers": 1e999}}', "[]", "null", "{}"]))
def test_stored_config_json_never_escapes_as_anything_but_a_validation_error(text):
    """A run file's /config json goes through model_validate_json: only ValidationError, one line."""
    for model in (GKNConfig, ChaosConfig):
        try:
            model.model_validate_json(text)
        except ValidationError as exc:
            assert "\n" not in describe_validation_error(exc)


@FUZZ
@given(text=st.text(alphabet=st.sampled_from(list("0123456789.,; -+eEnaif\t")), max_size=40) | st.text())
def test_points_text_parses_or_raises_config_error(text):
    try:
        points = parse_points(text)
    except ConfigError as exc:
        one_line(exc)
        return
    assert all(isinstance(v, float) for row in points for v in row)


@FUZZ
@given(name=st.text(max_size=20))
def test_unknown_presets_are_one_config_error(name):
    for load, names in ((preset_config, preset_names()), (chaos_preset_config, chaos_preset_names())):
        if name in names:
            continue
        with pytest.raises(ConfigError) as info:
            load(name)
        assert "unknown" in one_line(info.value)


def test_accepted_configs_hold_finite_numbers():
    """Spot check of the rule the fuzzing relies on: no NaN or inf ever gets through."""
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ConfigError):
            validate_config({"train": {"lr": bad}})
        with pytest.raises(ConfigError):
            validate_chaos_config({"model": {"g": bad}})
