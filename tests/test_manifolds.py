"""Manifolds on grids, checked against maps whose answer is known exactly."""

import numpy as np
import pytest
import torch
from torch import nn

from gkn_core.gkn.manifolds import (
    basins_2d,
    flat_fraction_1d,
    manifold_1d,
    manifold_2d,
    steps_to_reach,
)


def affine(dim: int, scale: float, shift: float) -> nn.Module:
    """f(x) = scale * x + shift: a contraction towards shift / (1 - scale) when |scale| < 1."""
    layer = nn.Linear(dim, dim)
    with torch.no_grad():
        layer.weight.copy_(scale * torch.eye(dim))
        layer.bias.fill_(shift)
    return layer


class NearestCorner(nn.Module):
    """Moves each point halfway to the nearest corner of {0.2, 0.8}^2: four basins, the quadrants."""

    def __init__(self) -> None:
        super().__init__()
        self.anchor = nn.Linear(2, 2)  # gives the module a device and a dimension

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        corner = torch.where(x < 0.5, 0.2, 0.8)
        return x + 0.5 * (corner - x)


def test_manifold_1d_of_a_known_map():
    model = affine(1, 0.5, 0.25)
    m = manifold_1d(model, 0.0, 1.0, 101)
    np.testing.assert_allclose(m.x, np.linspace(0, 1, 101), atol=1e-7)
    np.testing.assert_allclose(m.fx, 0.5 * m.x + 0.25, atol=1e-6)
    np.testing.assert_allclose(m.loss, (m.x - m.fx) ** 2, atol=1e-7)


def test_manifold_2d_on_a_256_grid_in_one_call():
    model = affine(2, 0.5, 0.25)
    m = manifold_2d(model, 0.0, 1.0, 256)
    assert m.loss.shape == (256, 256) and m.displacement.shape == (256, 256, 2)
    # Row index is y, column index is x.
    j, i = 10, 200
    p = np.array([m.xs[i], m.ys[j]])
    np.testing.assert_allclose(m.displacement[j, i], (0.5 * p + 0.25) - p, atol=1e-6)
    np.testing.assert_allclose(m.loss[j, i], np.mean(((0.5 * p + 0.25) - p) ** 2), atol=1e-7)


def test_basins_find_each_attractor_and_its_quadrant():
    b = basins_2d(NearestCorner(), 0.0, 1.0, n=64, tol=1e-4)
    assert len(b.attractors) == 4
    corners = {(0.2, 0.2), (0.2, 0.8), (0.8, 0.2), (0.8, 0.8)}
    assert {tuple(np.round(a, 3)) for a in b.attractors.tolist()} == corners
    # Each quadrant is one basin, labelled by the corner it reaches.
    for j, i in [(5, 5), (5, 60), (60, 5), (60, 60)]:
        expected = (0.2 if b.xs[i] < 0.5 else 0.8, 0.2 if b.ys[j] < 0.5 else 0.8)
        np.testing.assert_allclose(b.attractors[b.label[j, i]], expected, atol=1e-3)
    # Halving the distance each step: from distance d it takes ceil(log2(d / tol)) - 1 steps.
    d = abs(b.xs[0] - 0.2) * 0.5  # first move at the far corner of the grid
    assert b.steps[0, 0] == int(np.ceil(np.log2(d / 1e-4)))


def test_steps_to_reach_counts_iterations_exactly():
    model = affine(1, 0.5, 0.25)  # fixed point 0.5; distance halves each step
    starts = torch.tensor([[0.5], [0.53], [0.9]])
    steps = steps_to_reach(model, starts, torch.tensor([[0.5]]), tol=0.01, max_steps=100)
    assert steps.tolist() == [0, 2, 6]  # 0.03 -> 0.015 -> 0.0075; 0.4 * 2^-6 = 0.00625 <= 0.01 < 0.0125
    never = steps_to_reach(model, starts, torch.tensor([[0.1]]), tol=0.01, max_steps=20)
    assert never.tolist() == [21, 21, 21]


@pytest.mark.parametrize(("scale", "flat"), [(0.05, 1.0), (0.5, 0.0)])
def test_flat_fraction_of_affine_maps(scale, flat):
    assert flat_fraction_1d(affine(1, scale, 0.1), 0.0, 1.0, 201, threshold=0.1) == flat
