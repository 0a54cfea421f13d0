"""Scores of sample sets: a sample set drawn from the data scores near ideal, noise badly."""

from __future__ import annotations

import numpy as np
import pytest

from gkn_core.chaos.scores import aai, all_scores, e2, er, es
from gkn_core.data.images import load_named_dataset


@pytest.fixture(scope="module")
def halves() -> tuple[np.ndarray, np.ndarray]:
    x = load_named_dataset("digits8", "symmetric").x
    order = np.random.default_rng(0).permutation(len(x))
    return x[order[:800]], x[order[800:1600]]


def test_data_against_itself_is_near_ideal(halves):
    data, other = halves
    s = all_scores(data, other)
    # measured: E2 1.9e-4, Es 2.8e-4, ER 0.004, AAI 0.48 / 0.50
    assert s["E2"] < 5e-4 and s["Es"] < 1e-3
    assert abs(s["ER"]) < 0.05
    assert abs(s["AAI_data"] - 0.5) < 0.08 and abs(s["AAI_gen"] - 0.5) < 0.08


def test_noise_and_collapse_score_badly(halves):
    data, other = halves
    reference = all_scores(data, other)
    rng = np.random.default_rng(1)
    noise = rng.uniform(-1, 1, data.shape).astype(np.float32)
    s = all_scores(data, noise)
    # measured: E2 5.3e-3, Es 0.14, ER 1.56, AAI 1.0
    assert s["E2"] > 20 * reference["E2"] and s["Es"] > 100 * reference["Es"]
    assert s["ER"] > 0.5  # noise does not compress
    assert s["AAI"] > 0.99  # trivially told apart
    copies = np.repeat(data[:1], len(data), axis=0)  # mode collapse: one digit repeated
    assert er(data, copies) < -0.9
    assert e2(data, copies) > 20 * reference["E2"]
    assert es(data, copies) > 100 * reference["Es"]
    a_data, a_gen = aai(data, copies)  # data rows are far from the copies; the copies sit on a data row
    assert a_data > 0.99 and a_gen < 0.01
