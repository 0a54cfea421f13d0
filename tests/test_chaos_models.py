"""The chaotic RNN models, their settings and their dynamics (SPEC-NOTES sections 2 and 3)."""

from __future__ import annotations

import pytest
import torch

from gkn_core.chaos.analysis import network_spectrum
from gkn_core.chaos.config import (
    ChaosModelConfig,
    chaos_preset_config,
    chaos_preset_names,
    validate_chaos_config,
)
from gkn_core.chaos.models import build_chaos_model, sample_visible
from gkn_core.errors import ConfigError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_presets_hold_the_paper_settings():
    assert set(chaos_preset_names()) >= {"paper-mnist", "digits8", "mnist-small"}
    paper = chaos_preset_config("paper-mnist")
    m, t = paper.model, paper.train
    assert (m.arch, m.Nh, m.dt, m.tau, m.T, m.g) == ("restricted2", 500, 1.0, 10.0, 100.0, 1.5)
    assert (t.k, t.M, t.steps, paper.data.source) == (0.01, 500, 300_000, "mnist")
    digits = chaos_preset_config("digits8")
    assert (digits.model.Nh, digits.model.g, digits.train.M, digits.train.steps) == (100, 1.5, 200, 3000)


@pytest.mark.parametrize(
    ("raw", "start"),
    [
        ({"model": {"g": -1}}, "model.g: must be greater than or equal to 0"),
        ({"model": {"arch": "deep"}}, "model.arch: must be 'unrestricted', 'restricted2' or 'restricted3'"),
        ({"model": {"dt": 20.0}}, "model: dt (20) must not exceed tau (10)"),
        ({"train": {"M": 0}}, "train.M: must be greater than or equal to 1"),
        ({"data": {"source": "file"}}, "data: source 'file' needs a path"),
        ({"data": {"value_range": "unit"}}, "data.value_range: must be 'symmetric'"),
        ({"train": {"lr": 0.1}}, "train.lr: unknown setting"),
        ({"device": "tpu"}, "device: unknown device"),
    ],
)
def test_bad_settings_are_one_line_config_errors(raw, start):
    with pytest.raises(ConfigError) as caught:
        validate_chaos_config(raw)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(start), message


def test_unknown_preset_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown chaos preset 'nope'"):
        chaos_preset_config("nope")


@pytest.mark.parametrize("arch", ["unrestricted", "restricted2", "restricted3"])
def test_every_architecture_runs_in_place_like_its_functional_step(arch):
    settings = ChaosModelConfig(arch=arch, Nh=12, Nh2=7, g=1.5)
    model = build_chaos_model(settings, 9, seed=3)
    model.A.add_(0.0) if arch == "unrestricted" else model.pairs[0].A.normal_(0, 0.1)
    model.refresh()
    gen = torch.Generator().manual_seed(0)
    states = model.random_state(5, gen)
    expected = [x.clone() for x in states]
    for _ in range(7):
        expected = model.step(expected)
    model.run(states, 7)
    for got, want in zip(states, expected, strict=True):
        assert torch.allclose(got, want, atol=1e-5)
    flat = torch.cat(model.random_state(5, gen), dim=1)
    assert model.flat_step(flat).shape == (5, model.dim) == (5, 9 + 12 + (7 if arch == "restricted3" else 0))


def test_clamped_phase_holds_the_visible_rates_at_the_data():
    model = build_chaos_model(ChaosModelConfig(arch="restricted2", Nh=20), 6, seed=1)
    data = torch.linspace(-1, 1, 6).repeat(4, 1)
    states = model.random_state(4, torch.Generator().manual_seed(0))
    v0 = states[0].clone()
    model.run(states, 100, clamp=data)
    assert torch.equal(states[0], v0)  # not integrated: phi(v) is the data
    # the hidden layer relaxes to the fixed point of its constant input from the data
    target = torch.addmm(model.biases[1], data, model._up[0])
    assert torch.allclose(states[1], target, atol=1e-2)
    # restricted2 takes the closed form of the n Euler steps; recording forces the step loop
    start = model.random_state(4, torch.Generator().manual_seed(5))
    looped = model.run([x.clone() for x in start], 37, clamp=data, record=(1, torch.arange(3)))
    closed = model.run([x.clone() for x in start], 37, clamp=data)
    assert torch.allclose(looped[1], closed[1], atol=1e-5)


def test_identical_phases_give_no_update():
    model = build_chaos_model(ChaosModelConfig(arch="restricted3", Nh=10, Nh2=5), 4, seed=0)
    states = model.random_state(8, torch.Generator().manual_seed(0))
    data = torch.tanh(states[0])
    gap = model.hebbian_update(states, [x.clone() for x in states], 0.5, data)
    assert gap == 0.0
    assert all(float(p.A.abs().max()) == 0.0 for p in model.pairs)


def test_untrained_network_is_chaotic_above_g_1_and_stable_below():
    """digits8 size (Nv=64, Nh=100): measured -0.205 at g=0.8 and +0.063 at g=2 per tau."""
    values = {}
    for g in (0.8, 2.0):
        model = build_chaos_model(ChaosModelConfig(arch="restricted2", Nh=100, g=g), 64, seed=0)
        values[g] = float(network_spectrum(model, 1, steps=300, transient=100, chains=4).mean(0)[0])
    assert values[0.8] < -0.1
    assert values[2.0] > 0.02


def test_samples_are_rates_in_the_open_interval():
    model = build_chaos_model(ChaosModelConfig(arch="unrestricted", Nh=20, g=2.0), 10, seed=0)
    samples = sample_visible(model, 30, 100, torch.Generator().manual_seed(0), chunk=7)
    assert samples.shape == (30, 10)
    assert float(samples.abs().max()) < 1.0
    assert float(samples.std()) > 0.1  # chaos spreads the samples: no collapse to one point
