"""Sample quality per generation: real digits score high, noise near 0, one number per generation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gkn_core.class_score import class_score
from gkn_core.data.images import digits8
from gkn_core.gkn.sample_quality import held_out_images, quality_curve


@pytest.fixture(scope="module")
def real() -> np.ndarray:
    return held_out_images("digits8", digits8("unit").x)


def test_held_out_digits_score_high_and_cover_the_classes(real):
    assert real.shape == (360, 64)
    score = class_score(real, "digits8", "unit")
    assert score.fraction > 0.85 and score.entropy > 2.2 and score.classes_seen == 10


def test_uniform_noise_scores_near_zero():
    noise = np.random.default_rng(3).uniform(0, 1, (500, 64))
    score = class_score(noise, "digits8", "unit")
    assert score.fraction < 0.05 and score.reject > 0.9


def test_the_curve_has_one_score_per_generation_and_shows_the_burn_in(real):
    """Chains that start in noise and sit on real digits from generation 3 on."""
    rng = np.random.default_rng(0)
    n_chains, n_steps = 200, 10
    chains = rng.uniform(0, 1, (n_chains, n_steps + 1, 64)).astype(np.float32)
    chains[:, 3:] = real[:n_chains, None, :]
    curve = quality_curve(chains, (8, 8), "unit", "digits8", real)
    assert curve.confident.shape == curve.entropy.shape == (n_steps + 1,)
    np.testing.assert_array_equal(curve.generation, np.arange(n_steps + 1))
    assert curve.confident[:3].max() < 0.05 and curve.confident[3:].min() > 0.85
    assert curve.noise.fraction == curve.confident[0] and curve.real.fraction > 0.85
    assert set(curve.at([0, 5, 40])) == {0, 5}


def test_symmetric_range_is_rescaled(real):
    assert class_score(2 * real - 1, "digits8", "symmetric").fraction == pytest.approx(
        class_score(real, "digits8", "unit").fraction
    )


def test_data_without_a_classifier_get_nan_not_another_sets_score():
    chains = np.zeros((4, 3, 784), dtype=np.float32)  # 28x28 images of a user's file: not MNIST
    curve = quality_curve(chains, (28, 28), "symmetric", "file")
    assert np.isnan(curve.confident).all() and math.isnan(curve.real.fraction)
    items = quality_curve(chains, (28, 28), "symmetric", "fashion")  # the item classifier, not the digits'
    assert not np.isnan(items.confident).any() and items.noise.name == "item score"


def test_chains_of_the_wrong_size_are_refused():
    with pytest.raises(ValueError, match="values per state"):
        quality_curve(np.zeros((2, 3, 10)), (8, 8), "unit", "digits8")
