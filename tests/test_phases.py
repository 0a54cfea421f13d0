"""The phases as programs on static buffers (gkn_core.chaos.phases), the path CUDA captures as graphs.

On the CPU the programs run their body eagerly: the same function a GPU captures, checked here
against the plain Euler step and against the eager loops; the capture itself needs CUDA and is
skipped without it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gkn_core.chaos.config import ChaosModelConfig, chaos_preset_config
from gkn_core.chaos.models import build_chaos_model
from gkn_core.chaos.phases import GRAPHS_ENV, PhasePrograms, clamped_program, free_program, graphs_wanted
from gkn_core.chaos.train import ChaosTrainingJob
from gkn_core.data import Dataset
from gkn_core.job import StepInterrupted

F64 = torch.float64
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def network(arch: str, device: str = "cpu", dtype: torch.dtype = F64):
    settings = ChaosModelConfig(arch=arch, Nh=24, g=1.8, T=30.0)
    model = build_chaos_model(settings, 10, device, seed=2, dtype=dtype)
    gen = torch.Generator().manual_seed(3)
    for p in model.pairs:
        p.A.copy_(0.05 * torch.randn(p.A.shape, generator=gen, dtype=F64))
    for b in model.biases:
        b.copy_(0.1 * torch.randn(b.shape, generator=gen, dtype=F64))
    model.refresh()
    return model


def plain_steps(model, states, n, clamp=None):
    states = [x.clone() for x in states]
    for _ in range(n):
        states = model.step(states, clamp)  # a clamped visible layer keeps its state
    return states


@pytest.mark.parametrize("arch", ["unrestricted", "restricted2"])
def test_free_program_is_the_plain_euler_step(arch):
    model = network(arch)
    states = model.random_state(5, torch.Generator().manual_seed(4))
    program = free_program(model.sizes, model._fused_mats, model.a, 5, 30, capture=False)
    values = {f"mats{i}": m for i, m in enumerate(model._fused_mats)}
    values.update({f"states{i}": x for i, x in enumerate(states)})
    out = program.run(values)
    expected = plain_steps(model, states, 30)
    for i, x in enumerate(expected):
        torch.testing.assert_close(out[f"states{i}"], x, rtol=0, atol=1e-12)
    assert float(expected[0].abs().max()) > 0.1  # the states moved: a real comparison


def test_clamped_program_is_the_plain_euler_step():
    model = network("restricted2")
    states = model.random_state(6, torch.Generator().manual_seed(5))
    data = torch.rand(6, 10, generator=torch.Generator().manual_seed(6), dtype=F64) * 2 - 1
    program = clamped_program(model._up[0], model.biases[1], model.a, 6, 30, capture=False)
    out = program.run({"states1": states[1], "data": data, "up": model._up[0], "bias": model.biases[1]})
    expected = plain_steps(model, states, 30, clamp=data)
    torch.testing.assert_close(out["states1"], expected[1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("arch", ["unrestricted", "restricted2"])
def test_model_runs_through_programs_like_the_eager_loops_and_follows_updates(arch):
    """The routing a CUDA model takes (programs, here run eagerly) against the eager loops, before
    and after a Hebbian update changed the couplings the program holds copies of."""
    eager, programmed = network(arch), network(arch)
    programmed._phases = PhasePrograms(capture=False)
    data = torch.rand(8, 10, generator=torch.Generator().manual_seed(7), dtype=F64) * 2 - 1
    for _ in range(2):
        results = []
        for model in (eager, programmed):
            gen = torch.Generator().manual_seed(8)
            clamped, free = model.random_state(8, gen), model.random_state(8, gen)
            model.run(clamped, 30, clamp=data)
            model.run(free, 30)
            results.append((clamped, free))
            model.hebbian_update(clamped, free, 0.05, data)
        for a, b in zip(results[0][0] + results[0][1], results[1][0] + results[1][1], strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    if arch == "restricted2":
        torch.testing.assert_close(eager.pairs[0].A, programmed.pairs[0].A, rtol=0, atol=1e-12)
    assert len(programmed._phases._programs) == (2 if arch == "restricted2" else 1)  # made once, reused


def test_a_programmed_phase_answers_stop_before_it_runs():
    model = network("restricted2")
    model._phases = PhasePrograms(capture=False)
    states = model.random_state(4, torch.Generator().manual_seed(9))
    before = [x.clone() for x in states]

    def stop() -> None:
        raise StepInterrupted

    with pytest.raises(StepInterrupted):
        model.run(states, 30, check=stop)
    for a, b in zip(states, before, strict=True):
        assert torch.equal(a, b)


def test_training_with_programs_matches_the_eager_training():
    config = chaos_preset_config(
        "digits8", {"device": "cpu", "model": {"Nh": 20, "T": 20.0}, "train": {"steps": 5, "M": 16}}
    )
    rng = np.random.default_rng(0)
    data = Dataset("d", rng.uniform(-1, 1, (40, 64)).astype(np.float32), -1.0, 1.0)
    jobs = [ChaosTrainingJob(config, data, torch.device("cpu")) for _ in range(2)]
    jobs[1].model._phases = PhasePrograms(capture=False)
    gaps = [[job.step().gap for _ in range(3)] for job in jobs]
    assert gaps[0] == pytest.approx(gaps[1], rel=1e-5, abs=1e-9)
    torch.testing.assert_close(jobs[0].model.pairs[0].A, jobs[1].model.pairs[0].A, rtol=1e-5, atol=1e-7)


def test_graphs_are_chosen_for_cuda_only(monkeypatch):
    assert not graphs_wanted(torch.device("cpu"))
    assert network("restricted2")._phases is None  # the CPU keeps its eager loops (Stop every step)
    assert graphs_wanted(torch.device("cuda"))
    monkeypatch.setenv(GRAPHS_ENV, "0")
    assert not graphs_wanted(torch.device("cuda"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="capturing a CUDA graph needs a CUDA GPU")
@pytest.mark.parametrize("arch", ["unrestricted", "restricted2"])
def test_captured_phases_give_the_eager_numbers_on_cuda(arch, monkeypatch):
    graphed = network(arch, "cuda", torch.float32)
    assert graphed._phases is not None and graphed._phases.capture
    monkeypatch.setenv(GRAPHS_ENV, "0")
    eager = network(arch, "cuda", torch.float32)
    assert eager._phases is None
    data = torch.rand(16, 10, device="cuda") * 2 - 1
    for _ in range(2):  # the second round replays the graphs with the updated couplings
        results = []
        for model in (eager, graphed):
            gen = torch.Generator(device="cuda").manual_seed(1)
            clamped, free = model.random_state(16, gen), model.random_state(16, gen)
            model.run(clamped, 30, clamp=data)
            model.run(free, 30)
            results.append(free + clamped)
            model.hebbian_update(clamped, free, 0.05, data)
        for a, b in zip(*results, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
