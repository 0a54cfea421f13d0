"""The digit score (SPEC-NOTES section 4): real held-out digits score high, noise near 0."""

from __future__ import annotations

import numpy as np
import pytest

from gkn_core.data.images import load_named_dataset
from gkn_core.digit_score import digit_score, held_out_accuracy, make_noise
from gkn_core.errors import DataError

LN10 = float(np.log(10))


@pytest.mark.parametrize("name", ["digits8", "mnist"])
def test_real_digits_score_high_with_full_coverage(name):
    data = load_named_dataset(name, "unit", limit=2000 if name == "mnist" else None)
    digits, noise = held_out_accuracy(data.image_shape)
    assert digits > 0.94 and noise > 0.95  # as stored by scripts/train_digit_classifier.py
    score = digit_score(data.x, data.image_shape)
    assert score.fraction > 0.9
    assert score.entropy > 0.98 * LN10
    symmetric = digit_score(data.x * 2 - 1, data.image_shape, "symmetric")
    assert symmetric.fraction == pytest.approx(score.fraction)


@pytest.mark.parametrize("shape", [(8, 8), (28, 28)])
def test_noise_scores_near_zero(shape):
    rng = np.random.default_rng(123)
    for images in (
        rng.uniform(0, 1, (500, shape[0] * shape[1])),
        np.clip(rng.normal(0.3, 0.3, (500, shape[0] * shape[1])), 0, 1),
        make_noise(500, shape, rng),
    ):
        score = digit_score(images, shape)
        assert score.fraction < 0.05
        assert score.not_a_digit > 0.9


def test_one_digit_repeated_has_zero_entropy():
    data = load_named_dataset("digits8", "unit")
    score = digit_score(np.repeat(data.x[:1], 50, axis=0), (8, 8))
    assert score.entropy == 0.0 and score.fraction == 1.0


def test_other_image_sizes_are_refused():
    with pytest.raises(DataError, match="no digit classifier for 5x5"):
        digit_score(np.zeros((3, 25)), (5, 5))
