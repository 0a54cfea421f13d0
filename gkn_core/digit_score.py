"""The digit score of a set of generated images (SPEC-NOTES section 4).

A small classifier (shipped in assets/, trained by scripts/train_digit_classifier.py) has an 11th
class, "not a digit", learnt from noise of several kinds. A sample counts as a digit only when a
digit class wins with probability > 0.9. The score is that fraction together with the entropy of the
histogram of the winning digit classes among the counted samples (ln 10 = 2.303 is perfect coverage
of the ten digits; 0 is one digit only). Works for 8x8 images (sklearn digits) and 28x28 (MNIST).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from gkn_core.errors import DataError

ASSETS = Path(__file__).resolve().parents[1] / "assets"
NOT_A_DIGIT = 10
CONFIDENCE = 0.9
CLASSIFIERS = {(8, 8): "digits8", (28, 28): "mnist"}


@dataclass(frozen=True)
class DigitScore:
    fraction: float  # of samples classified as a digit with confidence > 0.9
    entropy: float  # of the digit-class histogram of those samples (nats; ln 10 is the maximum)
    histogram: np.ndarray  # (10,) counts of confident digits per class
    not_a_digit: float  # fraction whose winning class is "not a digit"
    n: int


@cache
def _weights(name: str) -> dict[str, np.ndarray]:
    path = ASSETS / f"digit_classifier_{name}.npz"
    if not path.is_file():
        raise DataError(f"digit classifier {path} is missing (run scripts/train_digit_classifier.py)")
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def classifier_for(image_shape: tuple[int, int]) -> str:
    shape = tuple(int(s) for s in image_shape)
    if shape not in CLASSIFIERS:
        raise DataError(f"no digit classifier for {shape[0]}x{shape[1]} images (only 8x8 and 28x28)")
    return CLASSIFIERS[shape]


def held_out_accuracy(image_shape: tuple[int, int]) -> tuple[float, float]:
    """(digit accuracy, noise accuracy) of the classifier on its held-out sets, as stored."""
    w = _weights(classifier_for(image_shape))
    return float(w["held_out_digit_accuracy"]), float(w["held_out_noise_accuracy"])


def class_probabilities(
    images: np.ndarray, image_shape: tuple[int, int], value_range: str = "unit"
) -> np.ndarray:
    """(n, 11) class probabilities of flattened images in [0, 1] ("unit") or [-1, 1] ("symmetric")."""
    w = _weights(classifier_for(image_shape))
    x = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
    if value_range == "symmetric":
        x = (x + 1.0) / 2.0
    elif value_range != "unit":
        raise DataError(f"unknown value range {value_range!r}; expected 'unit' or 'symmetric'")
    x = np.clip(x, 0.0, 1.0)
    hidden = np.maximum(x @ w["W1"] + w["b1"], 0.0)
    logits = hidden @ w["W2"] + w["b2"]
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def digit_score(images: np.ndarray, image_shape: tuple[int, int], value_range: str = "unit") -> DigitScore:
    """Score a set of images (n, H*W) or (n, H, W)."""
    p = class_probabilities(images, image_shape, value_range)
    winner = p.argmax(axis=1)
    confident = (winner != NOT_A_DIGIT) & (p.max(axis=1) > CONFIDENCE)
    histogram = np.bincount(winner[confident], minlength=10)[:10]
    total = histogram.sum()
    entropy = 0.0
    if total:
        q = histogram[histogram > 0] / total
        entropy = float(-(q * np.log(q)).sum())
    n = len(p)
    return DigitScore(
        fraction=float(confident.mean()) if n else 0.0,
        entropy=entropy,
        histogram=histogram,
        not_a_digit=float((winner == NOT_A_DIGIT).mean()) if n else 0.0,
        n=n,
    )


def make_noise(
    n: int, image_shape: tuple[int, int], rng: np.random.Generator, digits: np.ndarray | None = None
) -> np.ndarray:
    """n "not a digit" images in [0, 1], flattened, of mixed kinds: uniform, Gaussian, salt and
    pepper, constant, random blobs, and (given real digits) pixel-shuffled digits and blends of two."""
    h, w = image_shape
    d = h * w
    kinds = 7 if digits is not None else 5
    kind = rng.integers(0, kinds, n)
    out = np.empty((n, d), dtype=np.float32)
    for i in range(n):
        k = kind[i]
        if k == 0:
            img = rng.uniform(0, 1, d) * rng.uniform(0.3, 1.0)
        elif k == 1:
            img = np.clip(rng.normal(rng.uniform(0, 0.6), rng.uniform(0.1, 0.5), d), 0, 1)
        elif k == 2:
            img = (rng.uniform(0, 1, d) < rng.uniform(0.05, 0.6)).astype(np.float64)
        elif k == 3:
            img = np.full(d, rng.uniform(0, 1))
        elif k == 4:
            yy, xx = np.mgrid[0:h, 0:w]
            img = np.zeros((h, w))
            for _ in range(rng.integers(1, 6)):
                cy, cx = rng.uniform(0, h), rng.uniform(0, w)
                r = rng.uniform(0.08, 0.35) * h
                img += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r**2))
            img = np.clip(img, 0, 1).ravel()
        elif k == 5:
            img = rng.permutation(digits[rng.integers(len(digits))])
        else:
            a, b = digits[rng.integers(len(digits), size=2)]
            img = np.maximum(a, np.roll(b.reshape(h, w), rng.integers(-h // 3, h // 3 + 1), axis=1).ravel())
        out[i] = img
    return out
