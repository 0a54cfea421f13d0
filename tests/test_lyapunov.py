"""gkn_core.lyapunov against reference values (SPEC-NOTES section 3) and exact answers."""

from __future__ import annotations

import math

import pytest
import torch

from gkn_core.lyapunov import (
    kaplan_yorke_dimension,
    local_largest_exponent,
    lyapunov_spectrum,
    participation_ratio,
)

F64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def henon(x: torch.Tensor) -> torch.Tensor:
    return torch.stack([1 - 1.4 * x[:, 0] ** 2 + x[:, 1], 0.3 * x[:, 0]], dim=1)


def lorenz(s: torch.Tensor) -> torch.Tensor:
    x, y, z = s.unbind(1)
    return torch.stack([10 * (y - x), x * (28 - z) - y, x * y - 8 / 3 * z], dim=1)


def lorenz_rk4(s: torch.Tensor, dt: float = 0.01) -> torch.Tensor:
    k1 = lorenz(s)
    k2 = lorenz(s + dt / 2 * k1)
    k3 = lorenz(s + dt / 2 * k2)
    k4 = lorenz(s + dt * k3)
    return s + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def test_henon_map_matches_the_reference_exponents():
    gen = torch.Generator().manual_seed(0)
    x0 = 0.1 + 0.01 * torch.randn(16, 2, generator=gen, dtype=F64)
    exponents = lyapunov_spectrum(henon, x0, 2, 2000, transient=100, dtype=F64).mean(0)
    # measured 0.4200, -1.6240
    assert exponents[0].item() == pytest.approx(0.4192, rel=0.02)
    assert exponents[1].item() == pytest.approx(-1.6232, rel=0.02)
    # the sum is exactly log|det J| = log 0.3 per step
    assert exponents.sum().item() == pytest.approx(math.log(0.3), abs=1e-6)


def test_lorenz_rk4_matches_the_reference_exponents_per_unit_time():
    gen = torch.Generator().manual_seed(0)
    x0 = torch.tensor([[1.0, 1.0, 20.0]], dtype=F64) + torch.randn(64, 3, generator=gen, dtype=F64)
    per_time = lyapunov_spectrum(lorenz_rk4, x0, 3, 2500, transient=300, dtype=F64).mean(0) / 0.01
    # measured 0.9168, 0.0025, -14.586 (T = 25 per trajectory, 64 trajectories)
    assert per_time[0].item() == pytest.approx(0.9056, rel=0.02)
    assert abs(per_time[1].item()) < 0.02
    assert per_time[2].item() == pytest.approx(-14.5723, rel=0.02)


def test_linear_map_gives_log_of_its_eigenvalues_exactly():
    eigs = torch.tensor([2.0, -0.5, 0.1, 1.0], dtype=F64)
    basis, _ = torch.linalg.qr(torch.randn(4, 4, generator=torch.Generator().manual_seed(1), dtype=F64))
    matrix = basis @ torch.diag(eigs) @ basis.T  # symmetric: orthogonal eigenvectors

    def step(x: torch.Tensor) -> torch.Tensor:
        return x @ matrix.T

    x0 = torch.randn(3, 4, generator=torch.Generator().manual_seed(2), dtype=F64)
    got = lyapunov_spectrum(step, x0, 4, 200, transient=20, renorm_every=5)
    expected = torch.log(eigs.abs()).sort(descending=True).values
    assert torch.allclose(got, expected.expand(3, 4), atol=1e-2)
    assert got.shape == (3, 4)
    local = local_largest_exponent(step, x0, window=10, windows=5, transient=30)
    assert local.shape == (3, 5)
    assert torch.allclose(local, torch.full_like(local, math.log(2.0)), atol=1e-6)


def test_float32_and_float64_agree_and_fewer_exponents_are_the_leading_ones():
    x0 = 0.1 + 0.01 * torch.randn(16, 2, generator=torch.Generator().manual_seed(3))
    two = lyapunov_spectrum(henon, x0, 2, 1000, transient=50, dtype=F64).mean(0)
    one = lyapunov_spectrum(henon, x0, 1, 1000, transient=50).mean(0)
    assert one.dtype == torch.float32 and two.dtype == F64
    # float32 trajectories part from the float64 ones, but the exponent is a property of the attractor
    assert one[0].item() == pytest.approx(0.4192, rel=0.04)
    assert two[0].item() == pytest.approx(0.4192, rel=0.04)


def test_participation_ratio_and_kaplan_yorke_dimension():
    assert participation_ratio(torch.tensor([1.0, 1.0, 1.0, -5.0])).item() == pytest.approx(3.0)
    assert participation_ratio(torch.tensor([1.0, 0.0, -1.0])).item() == pytest.approx(1.0)
    assert participation_ratio(torch.tensor([-0.1, -2.0])).item() == 0.0
    # Lorenz: 2 + 0.9056 / 14.5723 = 2.062
    ky = kaplan_yorke_dimension(torch.tensor([0.9056, 0.0, -14.5723], dtype=F64))
    assert ky.item() == pytest.approx(2.0621, abs=1e-3)
    assert kaplan_yorke_dimension(torch.tensor([-0.1, -0.2])).item() == 0.0


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        lyapunov_spectrum(henon, torch.zeros(2, 2), 3, 10)
    with pytest.raises(ValueError):
        lyapunov_spectrum(henon, torch.zeros(2, 2), 1, 0)
