import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gkn_core.errors import ConfigError
from gkn_core.gkn.config import GKNConfig, SampleConfig, preset_config, preset_names, validate_config


def test_every_preset_is_valid_and_matches_the_reference_settings():
    assert {"1d", "1d-shallow", "2d", "digits8", "mnist"} <= set(preset_names())
    one_d = preset_config("1d")
    assert (one_d.model.layers, one_d.model.hidden, one_d.train.steps, one_d.train.lr) == (7, 10, 2000, 1e-3)
    assert one_d.data.points == [[0.2], [0.8]]
    assert preset_config("1d-shallow").model.layers == 2
    two_d = preset_config("2d")
    assert (two_d.model.layers, two_d.model.hidden) == (7, 50)
    assert sorted(map(tuple, two_d.data.points)) == [(0.2, 0.2), (0.2, 0.8), (0.8, 0.2), (0.8, 0.8)]
    mnist = preset_config("mnist")
    assert (mnist.model.layers, mnist.model.hidden, mnist.data.value_range) == (11, 500, "symmetric")
    assert (mnist.train.lr, mnist.train.batch_size, mnist.train.steps) == (1e-4, 1000, 10000)


def test_overrides_merge_section_by_section():
    config = preset_config("2d", {"model": {"layers": 3}, "seed": 9})
    assert config.model.layers == 3 and config.model.hidden == 50 and config.seed == 9


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model": {"layers": 0}}, r"model\.layers: must be greater than or equal to 1 \(got 0\)"),
        ({"model": {"hidden": 0}}, r"model\.hidden: must be greater than or equal to 1"),
        ({"train": {"lr": 0}}, r"train\.lr: must be greater than 0"),
        ({"train": {"lr": -1e-3}}, r"train\.lr: must be greater than 0"),
        ({"train": {"lr": math.nan}}, r"train\.lr: must be a finite number"),
        ({"train": {"lr": math.inf}}, r"train\.lr: must be a finite number"),
        ({"sample": {"noise": -0.1}}, r"sample\.noise: must be greater than or equal to 0"),
        ({"sample": {"noise": math.nan}}, r"sample\.noise: must be a finite number"),
        (
            {"model": {"activation": "gelu"}},
            r"model\.activation: must be 'relu', 'tanh', 'leaky_relu' or 'silu'",
        ),
        ({"sample": {"noise_law": "cauchy"}}, r"sample\.noise_law"),
        ({"sample": {"burn_in": 30}}, r"burn_in \(30\) must be smaller than steps \(30\)"),
        ({"model": {"widht": 3}}, r"model\.widht: unknown setting"),
        ({"device": "tpu"}, r"device: unknown device"),
        ({"data": {"points": [[0.2], [1.5]]}}, r"point value 1\.5 is outside the unit range"),
        ({"data": {"points": [[0.2], [0.1, 0.3]]}}, r"same, non-zero number of coordinates"),
        ({"data": {"source": "file", "points": None}}, r"source 'file' needs a path"),
        ({"train": {"steps": 0}}, r"train\.steps: must be greater than or equal to 1"),
        ({"train": {"batch_size": 0}}, r"train\.batch_size"),
    ],
)
def test_bad_values_raise_one_clear_line(overrides, message):
    with pytest.raises(ConfigError, match=message) as info:
        preset_config("1d", overrides)
    assert "\n" not in str(info.value)


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown preset 'nope' \(known: 1d, "):
        preset_config("nope")


def test_config_is_immutable_and_round_trips_through_json():
    config = preset_config("digits8")
    with pytest.raises(Exception, match="frozen"):
        config.seed = 3
    assert GKNConfig.model_validate_json(config.model_dump_json()) == config


@settings(max_examples=150, deadline=None)
@given(
    layers=st.one_of(st.integers(-5, 200), st.floats(allow_nan=True), st.text(max_size=3)),
    lr=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3)),
    noise=st.floats(allow_nan=True, allow_infinity=True),
)
def test_fuzzed_settings_either_validate_or_raise_config_error(layers, lr, noise):
    raw = {"model": {"layers": layers}, "train": {"lr": lr}, "sample": {"noise": noise}}
    try:
        config = validate_config(raw)
    except ConfigError as exc:
        assert "\n" not in str(exc)
        return
    assert 1 <= config.model.layers <= 128
    assert config.train.lr > 0 and math.isfinite(config.train.lr)
    assert config.sample.noise >= 0 and math.isfinite(config.sample.noise)


def test_sample_settings_validate_alone():
    with pytest.raises(Exception, match="chains"):
        SampleConfig(chains=0)
