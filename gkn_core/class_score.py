"""Class scores of a set of generated images, chosen by DATA SET (SPEC-NOTES section 4).

A small classifier (shipped in assets/, trained by scripts/train_digit_classifier.py) has an 11th
class, "not a digit" / "not an item", learnt from noise of several kinds. A sample counts only when a
real class wins with probability > 0.9. The score is that fraction together with the entropy of the
histogram of the winning classes among the counted samples (ln 10 = 2.303 is perfect coverage of the
ten classes; 0 is one class only).

The classifier follows the data set a run trained on, never the image shape: `digits8` and `mnist`
get the *digit score* (digit classifiers), `fashion` and `fashion8` the *item score* (Fashion-MNIST
classifiers). Any other data (image files, toy data) gets no class score: NaN, with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from gkn_core.errors import DataError

ASSETS = Path(__file__).resolve().parents[1] / "assets"
REJECT = 10  # the 11th class: "not a digit" / "not an item"
CONFIDENCE = 0.9
LN10 = math.log(10)
# data set -> (classifier asset, the score's name)
CLASS_SCORES: dict[str, tuple[str, str]] = {
    "digits8": ("digit_classifier_digits8", "digit score"),
    "mnist": ("digit_classifier_mnist", "digit score"),
    "fashion": ("item_classifier_fashion", "item score"),
    "fashion8": ("item_classifier_fashion8", "item score"),
}
NO_SCORE = "no class score"


@dataclass(frozen=True)
class ClassScore:
    name: str  # "digit score", "item score" or "no class score"
    fraction: float  # of samples classified as a real class with confidence > 0.9 (NaN: no score)
    entropy: float  # of the class histogram of those samples (nats; ln 10 is the maximum)
    histogram: np.ndarray  # (10,) counts of confident samples per class
    reject: float  # fraction whose winning class is the 11th, "not a digit/item"
    n: int
    reason: str = ""  # why there is no score; "" when there is one

    @property
    def scored(self) -> bool:
        return not self.reason

    @property
    def classes_seen(self) -> int:
        """Classes with at least one confident sample."""
        return int((self.histogram > 0).sum())


def score_name(dataset_name: str | None) -> str:
    """ "digit score", "item score", or "no class score" for the data set a run trained on."""
    return CLASS_SCORES.get(dataset_name or "", ("", NO_SCORE))[1]


def no_score_reason(dataset_name: str | None) -> str:
    """The reason a data set has no class score, or "" when it has one."""
    if dataset_name in CLASS_SCORES:
        return ""
    return f"no class score: data {dataset_name!r} is neither MNIST nor Fashion-MNIST"


@cache
def _weights(classifier: str) -> dict[str, np.ndarray]:
    path = ASSETS / f"{classifier}.npz"
    if not path.is_file():
        raise DataError(f"classifier {path} is missing (run scripts/train_digit_classifier.py)")
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def classifier_for(dataset_name: str) -> str:
    """The classifier asset of a data set; DataError when it has none."""
    if dataset_name not in CLASS_SCORES:
        raise DataError(no_score_reason(dataset_name))
    return CLASS_SCORES[dataset_name][0]


def held_out_accuracy(dataset_name: str) -> tuple[float, float]:
    """(class accuracy, noise rejection) of the data set's classifier on its held-out sets, as stored."""
    w = _weights(classifier_for(dataset_name))
    # The digit classifiers shipped before the item ones call it held_out_digit_accuracy.
    key = "held_out_class_accuracy" if "held_out_class_accuracy" in w else "held_out_digit_accuracy"
    return float(w[key]), float(w["held_out_noise_accuracy"])


def class_probabilities(images: np.ndarray, classifier: str, value_range: str = "unit") -> np.ndarray:
    """(n, 11) class probabilities of images in [0, 1] ("unit") or [-1, 1] ("symmetric")."""
    w = _weights(classifier)
    x = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
    pixels = int(np.prod(w["image_shape"]))
    if x.shape[1] != pixels:
        h, wd = (int(s) for s in w["image_shape"])
        raise DataError(f"classifier {classifier} scores {h}x{wd} images, got {x.shape[1]} values per image")
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


def score_with(images: np.ndarray, classifier: str, value_range: str = "unit", name: str = "") -> ClassScore:
    """Score images (n, H*W) or (n, H, W) with a named classifier asset (e.g. to cross-check data sets)."""
    name = name or ("item score" if classifier.startswith("item") else "digit score")
    return _score(class_probabilities(images, classifier, value_range), name)


def _score(p: np.ndarray, name: str) -> ClassScore:
    """The score of a set of images from their class probabilities (n, 11)."""
    winner = p.argmax(axis=1)
    confident = (winner != REJECT) & (p.max(axis=1) > CONFIDENCE)
    histogram = np.bincount(winner[confident], minlength=10)[:10]
    n = len(p)
    return ClassScore(
        name=name,
        fraction=float(confident.mean()) if n else 0.0,
        entropy=histogram_entropy(histogram),
        histogram=histogram,
        reject=float((winner == REJECT).mean()) if n else 0.0,
        n=n,
    )


def class_score(images: np.ndarray, dataset_name: str | None, value_range: str = "unit") -> ClassScore:
    """The class score of images generated from the data set `dataset_name` (a run's data source:
    "digits8", "mnist", "fashion", "fashion8"); for any other data NaN with the reason."""
    return class_scores(np.asarray(images)[None], dataset_name, value_range)[0]


def class_scores(sets: np.ndarray, dataset_name: str | None, value_range: str = "unit") -> list[ClassScore]:
    """`class_score` of each of G sets of n images (G, n, D), with one classifier pass over all of
    them (a sampling scores a block of generations at once: one matrix product, not G small ones)."""
    sets = np.asarray(sets)
    reason = no_score_reason(dataset_name)
    if reason:
        nan = float("nan")
        return [
            ClassScore(NO_SCORE, nan, nan, np.zeros(10, dtype=np.int64), nan, sets.shape[1], reason)
            for _ in range(len(sets))
        ]
    classifier, name = CLASS_SCORES[dataset_name]  # type: ignore[index]
    g, n = sets.shape[:2]
    flat = sets.reshape(g * n, int(np.prod(sets.shape[2:])))
    p = class_probabilities(flat, classifier, value_range)
    if g == 1:
        return [_score(p, name)]
    # _score's numbers for every set at once: counts of 0/1 over n divided by n are what their means
    # are; the entropy is a function of the histogram alone, computed once per distinct histogram.
    winner = p.argmax(axis=1)
    confident = (winner != REJECT) & (p.max(axis=1) > CONFIDENCE)
    sets_of = np.repeat(np.arange(g), n)
    histograms = np.bincount(sets_of[confident] * 10 + winner[confident], minlength=g * 10).reshape(g, 10)
    fraction = (confident.reshape(g, n).sum(axis=1) / n).tolist() if n else [0.0] * g
    reject = ((winner == REJECT).reshape(g, n).sum(axis=1) / n).tolist() if n else [0.0] * g
    entropies: dict[bytes, float] = {}
    scores = []
    for i, histogram in enumerate(histograms):
        key = histogram.tobytes()
        if key not in entropies:
            entropies[key] = histogram_entropy(histogram)
        scores.append(ClassScore(name, fraction[i], entropies[key], histogram, reject[i], n))
    return scores


def histogram_entropy(histogram: np.ndarray) -> float:
    """Entropy (nats) of a class histogram (counts)."""
    total = histogram.sum()
    if not total:
        return 0.0
    q = histogram[histogram > 0] / total
    return float(-(q * np.log(q)).sum())


def make_noise(
    n: int, image_shape: tuple[int, int], rng: np.random.Generator, examples: np.ndarray | None = None
) -> np.ndarray:
    """n images of the reject class in [0, 1], flattened, of mixed kinds: uniform, Gaussian, salt and
    pepper, constant, random blobs, and (given real examples) pixel-shuffled examples and blends of two."""
    h, w = image_shape
    d = h * w
    kinds = 7 if examples is not None else 5
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
            img = rng.permutation(examples[rng.integers(len(examples))])
        else:
            a, b = examples[rng.integers(len(examples), size=2)]
            img = np.maximum(a, np.roll(b.reshape(h, w), rng.integers(-h // 3, h // 3 + 1), axis=1).ravel())
        out[i] = img
    return out
