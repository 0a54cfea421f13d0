"""The over-generalization measures score what they claim: 0 for maps that send nothing to the data
(constant, identity, untrained networks), 1 where they should, and the uncaptured are counted."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gkn_core.gkn.capture import (
    MEASURES,
    aggregate,
    capture_report,
    capture_with_baseline,
    spread,
    untrained_network,
)
from gkn_core.gkn.config import preset_config
from gkn_core.gkn.data import load_dataset
from gkn_core.gkn.train import GKNTrainingJob

X1 = np.array([[0.2], [0.8]], dtype=np.float32)
X2 = np.array([[0.2, 0.2], [0.2, 0.8], [0.8, 0.2], [0.8, 0.8]], dtype=np.float32)
CAPTURE_MEASURES = (
    "one_step_capture",
    "capture",
    "balance",
    "balanced_capture",
    "flat_near_data",
    "flat_some_near_data",
)


def constant(value: list[float]):
    c = torch.tensor([value])
    return lambda x: c.expand(x.shape[0], -1)


@pytest.mark.parametrize("points", [X1, X2])
def test_a_constant_map_off_the_data_captures_nothing(points):
    r = capture_report(constant([0.5] * points.shape[1]), points)
    assert all(r.summary()[name] == 0.0 for name in CAPTURE_MEASURES)
    assert r.uncaptured == 1.0
    assert r.flat_anywhere == 1.0  # the old, unsound measure: a constant map is flat everywhere
    assert math.isinf(r.median_steps) and r.restricted_mean_steps == r.n_steps
    assert (r.basin[r.eligible] == -1).all()


@pytest.mark.parametrize("points", [X1, X2])
def test_the_identity_captures_nothing_and_starts_on_the_data_are_not_counted(points):
    r = capture_report(lambda x: x, points)
    assert all(r.summary()[name] == 0.0 for name in CAPTURE_MEASURES)
    assert r.flat_anywhere == 0.0
    # 1D grid of 201 points (step 0.005), tol 0.01: 4 or 5 grid points (float32 edges) lie within
    # tol of each training point and are left out
    if points.shape[1] == 1:
        assert r.n_starts == 201 and 191 <= r.n_eligible <= 193
        assert set(r.basin[~r.eligible]) == {0, 1}


def test_a_collapse_onto_one_training_point_captures_all_with_no_balance():
    r = capture_report(lambda x: torch.full_like(x, 0.8), X2)
    assert r.one_step_capture == r.capture == r.flat_near_data == 1.0
    assert r.balance == 0.0 and r.balanced_capture == 0.0
    np.testing.assert_allclose(r.basin_shares, [0, 0, 0, 1])
    assert r.median_steps == 1.0 and r.restricted_mean_steps == 1.0 and r.stay_fraction == 1.0


def test_a_map_splitting_the_line_in_two_is_perfectly_balanced():
    r = capture_report(lambda x: torch.where(x < 0.5, 0.2, 0.8), X1)
    assert r.capture == 1.0 and r.balance == pytest.approx(1.0)
    np.testing.assert_allclose(r.basin_shares, [0.5, 0.5], atol=0.01)


def test_steps_to_capture_count_the_censored():
    """f halves the distance to 0.2: from 0.03, 0.05, 0.09 it takes 2, 3, 4 steps (tol 0.01); from
    0.7 and 0.9 more than N = 5, so those two are censored at N, not dropped."""
    starts = np.array([[0.23], [0.25], [0.29], [0.7], [0.9]])
    r = capture_report(lambda x: 0.2 + 0.5 * (x - 0.2), [[0.2]], starts=starts, n_steps=5)
    np.testing.assert_array_equal(r.steps, [2, 3, 4, math.inf, math.inf])
    assert r.capture == pytest.approx(0.6) and r.uncaptured == pytest.approx(0.4)
    assert r.median_steps == 4.0 and math.isinf(r.q75_steps)
    assert r.restricted_mean_steps == pytest.approx((2 + 3 + 4 + 5 + 5) / 5)
    assert r.mean_steps_captured == pytest.approx(3.0)  # the biased, conditional one, for contrast
    np.testing.assert_allclose(r.capture_curve, [0, 0, 0.2, 0.4, 0.6, 0.6])


@pytest.mark.parametrize(("preset", "points"), [("1d", X1), ("2d", X2)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_untrained_networks_score_near_zero(preset, points, seed):
    config = preset_config(preset, {"seed": seed})
    model = untrained_network(config, points.shape[1], seed)
    r = capture_report(model, points)
    for name in CAPTURE_MEASURES:
        assert r.summary()[name] < 0.05, name
    assert r.flat_anywhere > 0.9  # why the old flat_fraction was unsound


@pytest.fixture(scope="module")
def trained_1d():
    # Seed 2 reaches loss 0 by step 800; over seeds 0-4 the balance at tol 0.01 is 0.72-0.99 (seed 1
    # has not fitted its second point by step 800 and scores balance 0): the spread is real.
    config = preset_config("1d", {"seed": 2, "train": {"steps": 800}})
    dataset = load_dataset(config.data, config.seed)
    job = GKNTrainingJob(config, dataset, torch.device("cpu"))
    for _ in job:
        pass
    return config, job.model, dataset


def test_a_trained_1d_network_captures_unseen_inputs_evenly_beside_its_untrained_self(trained_1d):
    config, model, dataset = trained_1d
    result = capture_with_baseline(config, model, dataset.x, seed=config.seed)
    t, u = result.trained, result.untrained
    assert t.one_step_capture > 0.25 and t.capture > 0.95 and t.balance > 0.8
    assert t.flat_near_data > 0.15 and t.stay_fraction == 1.0 and t.median_steps <= 3
    for name in CAPTURE_MEASURES:
        assert u.summary()[name] < 0.05, name
    assert u.restricted_mean_steps == u.n_steps
    assert set(result.rows()) == set(MEASURES)


def test_the_baseline_is_the_network_training_started_from(trained_1d):
    config, _, dataset = trained_1d
    fresh = GKNTrainingJob(config, dataset, torch.device("cpu")).model
    again = untrained_network(config, 1, config.seed)
    for a, b in zip(fresh.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_aggregate_over_seeds():
    s = spread([1.0, 2.0, 3.0, math.nan])
    assert (s.mean, s.std, s.n) == (2.0, 1.0, 3)
    assert math.isinf(spread([1.0, math.inf]).mean)
    a = capture_with_baseline(lambda seed: torch.nn.Linear(1, 1), torch.nn.Identity(), X1, seed=0)
    table = aggregate([a, a])
    assert table["capture"][0].n == 2 and table["capture"][0].mean == 0.0
