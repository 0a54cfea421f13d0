"""The analytic tangent map of the rate networks (gkn_core.tangent) and the generic JVP paths of
gkn_core.lyapunov, against each other and against exact answers."""

from __future__ import annotations

import pytest
import torch

from gkn_core import lyapunov
from gkn_core.chaos.config import ChaosModelConfig
from gkn_core.chaos.models import build_chaos_model
from gkn_core.lyapunov import Benettin, _JvpPush, lyapunov_spectrum, start_frame
from gkn_core.tangent import tanh_into

F64 = torch.float64
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def network(arch: str):
    model = build_chaos_model(ChaosModelConfig(arch=arch, Nh=20, Nh2=12, g=2.0), 10, dtype=F64, seed=1)
    gen = torch.Generator().manual_seed(5)
    for p in model.pairs:
        p.A.copy_(0.05 * torch.randn(p.A.shape, generator=gen, dtype=F64))
    for b in model.biases:
        b.copy_(0.1 * torch.randn(b.shape, generator=gen, dtype=F64))
    model.refresh()
    return model


@pytest.mark.parametrize("arch", ["unrestricted", "restricted2", "restricted3"])
def test_analytic_tangent_is_the_jacobian(arch):
    model = network(arch)
    step = model.euler_map()
    x = torch.cat(model.random_state(3, torch.Generator().manual_seed(2)), dim=1)
    frame = start_frame(x, 7, 0)
    x_next, pushed = step.tangent(x, frame)
    # the state: the model's own Euler step; the frame: the Jacobian of that step times each vector
    torch.testing.assert_close(x_next, model.flat_step(x), rtol=0, atol=1e-14)
    jac = torch.func.vmap(torch.func.jacfwd(model.flat_step))(x.unsqueeze(1)).squeeze(1).squeeze(2)
    torch.testing.assert_close(pushed, frame @ jac.mT, rtol=0, atol=1e-14)
    # views into the map's buffer: handing them back costs no copy and gives the next step
    again = step.tangent(x_next, pushed)
    assert again[0].data_ptr() == x_next.data_ptr()


@pytest.mark.parametrize("arch", ["unrestricted", "restricted2", "restricted3"])
def test_analytic_and_generic_spectra_agree(arch):
    model = network(arch)
    x0 = torch.cat(model.random_state(2, torch.Generator().manual_seed(3)), dim=1)
    fast = lyapunov_spectrum(model.euler_map(), x0, model.dim, 150, 30, renorm_every=5)
    generic = lyapunov_spectrum(model.flat_step, x0, model.dim, 150, 30, renorm_every=5)
    assert (fast - generic).abs().max().item() < 1e-12
    # the sum of all exponents is the mean log |det J|, which is at most dim * log(1 - a) + ... < 0
    assert fast.sum(1).max().item() < 0


def test_renorm_interval_changes_nothing_but_the_frame_condition():
    """QR every step or every 20: the same exponents (QR is unique), a larger condition readout."""
    model = network("restricted2")
    x0 = torch.cat(model.random_state(2, torch.Generator().manual_seed(4)), dim=1)
    runs = {}
    for every in (1, 20):
        run = Benettin(model.euler_map(), x0, model.dim, 200, 20, every)
        run.advance()
        runs[every] = run
    assert (runs[1].exponents() - runs[20].exponents()).abs().max().item() < 1e-10
    assert 1.0 <= runs[1].frame_condition() < runs[20].frame_condition()
    # in pieces: the same numbers as in one go
    piecewise = Benettin(model.euler_map(), x0, model.dim, 200, 20, 20)
    while not piecewise.finished:
        piecewise.advance(7)
    torch.testing.assert_close(piecewise.exponents(), runs[20].exponents(), rtol=0, atol=0)


def henon(x: torch.Tensor) -> torch.Tensor:
    return torch.stack([1 - 1.4 * x[:, 0] ** 2 + x[:, 1], 0.3 * x[:, 0]], dim=1)


def test_traced_jvp_is_the_eager_jvp_and_untraceable_maps_run_eagerly():
    x = 0.1 + 0.01 * torch.randn(5, 2, generator=torch.Generator().manual_seed(0), dtype=F64)
    frame = start_frame(x, 2, 0)
    traced, eager = _JvpPush(henon, trace=True), _JvpPush(henon, trace=False)
    for a, b in zip(traced(x, frame), eager(x, frame), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-15)
    assert traced.trace and traced._graph is not None

    def moody(x: torch.Tensor) -> torch.Tensor:  # data-dependent Python control flow: not traceable
        return henon(x) if float(x.sum()) > -1e9 else x

    fallback = _JvpPush(moody, trace=True)
    for a, b in zip(fallback(x, frame), eager(x, frame), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-15)
    assert not fallback.trace
    # a long run (traced) gives the reference exponents
    exponents = lyapunov_spectrum(henon, x, 2, 3000, 100).mean(0)
    assert exponents[0].item() == pytest.approx(0.4192, abs=0.01)
    assert exponents[1].item() == pytest.approx(-1.6232, abs=0.01)


def test_tanh_into_matches_torch():
    x = torch.linspace(-20, 20, 4001, dtype=torch.float32).reshape(1, -1).repeat(3, 1)
    out = torch.empty_like(x)
    tanh_into(x, out)
    torch.testing.assert_close(out, torch.tanh(x), rtol=2e-7, atol=1e-7)
    inf = torch.tensor([[float("inf")]])
    assert tanh_into(inf, torch.empty_like(inf)).item() == 1.0  # the fused free phase relies on it


def test_steps_in_one_call_are_the_single_steps():
    model = network("restricted2")
    x = torch.cat(model.random_state(3, torch.Generator().manual_seed(6)), dim=1)
    frame = start_frame(x, 9, 0)
    one_by_one = model.euler_map()
    xs, fs = x, frame
    for _ in range(13):
        xs, fs = one_by_one.tangent(xs, fs)
    xs, fs = xs.clone(), fs.clone()
    x13, f13 = model.euler_map().tangent_steps(x, frame, 13)
    torch.testing.assert_close(x13, xs, rtol=0, atol=0)
    torch.testing.assert_close(f13, fs, rtol=0, atol=0)


def test_q_by_triangular_solve_gives_the_householder_exponents(monkeypatch):
    """Q = V R^-1 (the default for frames of condition up to Q_BY_SOLVE_UP_TO) against Q from the
    reflectors: the same exponents and condition readout (a real one: > 1e3 after 40 steps
    without a QR)."""
    model = network("restricted2")
    x0 = torch.cat(model.random_state(2, torch.Generator().manual_seed(7)), dim=1)
    runs = {}
    for limit in (1e6, 0.0):  # 0: every QR forms Q from the reflectors
        monkeypatch.setattr(lyapunov, "Q_BY_SOLVE_UP_TO", limit)
        run = Benettin(model.euler_map(), x0, model.dim, 200, 20, 40)
        run.advance()
        runs[limit] = run
    assert (runs[1e6].exponents() - runs[0.0].exponents()).abs().max().item() < 1e-12
    assert runs[1e6].frame_condition() == pytest.approx(runs[0.0].frame_condition(), rel=1e-9)
    assert runs[0.0].frame_condition() > 1e3
