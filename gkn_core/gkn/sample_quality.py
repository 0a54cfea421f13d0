"""Image sample quality of GKN kaleidoscopic chains, generation by generation (the burn-in curve).

A chain array (n_chains, n_steps + 1, D) holds the start (generation 0) and f(x) at every step. Each
generation is scored by the shipped classifier with a reject class (SPEC-NOTES 4): the `confident`
share (a class wins with probability > 0.9 and it is not "not a digit") and the entropy of the
histogram of those confident classes (nats; ln 10 = 2.30 is perfect coverage of ten classes). Two
reference points come with every curve: the noise the chains started from (generation 0) and real
held-out images of the data set. Data sets without a classifier get NaN, never another set's score.

The classifier is chosen by data set in `gkn_core.class_score` (digit score for digits8/mnist, item
score for fashion/fashion8), the one place every class score in the product comes from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gkn_core.class_score import ClassScore, class_score, class_scores

N_CLASSES = 10
# The rows the digit classifier held out (scripts/train_digit_classifier.py: the first `held_out`
# of numpy's default_rng(0).permutation(n)); real images it never saw, as the reference.
CLASSIFIER_HELD_OUT = {"digits8": 360, "mnist": 2000}


@dataclass(frozen=True, eq=False)
class QualityCurve:
    """The class score of every generation of a set of chains, beside its two reference points."""

    dataset: str
    generation: np.ndarray  # (G,) 0 .. n_steps; generation 0 is the start noise
    confident: np.ndarray  # (G,)
    entropy: np.ndarray  # (G,)
    classes_seen: np.ndarray  # (G,) int
    rejected: np.ndarray  # (G,)
    noise: ClassScore  # the chains' starts (generation 0)
    real: ClassScore  # held-out real images (NaN score if none were given)

    def at(self, generations: list[int] | tuple[int, ...]) -> dict[int, tuple[float, float]]:
        """generation -> (confident, entropy), for the generations that exist."""
        known = [g for g in generations if 0 <= g < len(self.generation)]
        return {g: (float(self.confident[g]), float(self.entropy[g])) for g in known}


def _frozen(values: list[float] | np.ndarray, dtype: type = np.float64) -> np.ndarray:
    out = np.array(values, dtype=dtype)
    out.flags.writeable = False
    return out


def quality_curve(
    chains: np.ndarray,
    image_shape: tuple[int, int],
    value_range: str,
    dataset_name: str,
    real_images: np.ndarray | None = None,
) -> QualityCurve:
    """Score every generation of `chains` (n_chains, n_steps + 1, D); `real_images` (n, D) are the
    data-set reference (e.g. `held_out_images`)."""
    chains = np.asarray(chains)
    if chains.ndim != 3 or chains.shape[1] < 1:
        raise ValueError(f"chains must be (n_chains, n_steps + 1, D), got shape {chains.shape}")
    if chains.shape[2] != image_shape[0] * image_shape[1]:
        raise ValueError(f"chains have {chains.shape[2]} values per state, not the {image_shape} image size")
    scores = [class_score(chains[:, g], dataset_name, value_range) for g in range(chains.shape[1])]
    real = class_score(np.empty((0, chains.shape[2])), None)  # NaN: no reference given
    if real_images is not None and len(real_images):
        real = class_score(np.asarray(real_images).reshape(len(real_images), -1), dataset_name, value_range)
    return QualityCurve(
        dataset=dataset_name,
        generation=_frozen(np.arange(chains.shape[1]), np.int64),
        confident=_frozen([s.fraction for s in scores]),
        entropy=_frozen([s.entropy for s in scores]),
        classes_seen=_frozen([s.classes_seen for s in scores], np.int64),
        rejected=_frozen([s.reject for s in scores]),
        noise=scores[0],
        real=real,
    )


def held_out_images(dataset_name: str, images: np.ndarray) -> np.ndarray:
    """The rows of the data set the classifier never saw in training, as the real-image reference.
    (A GKN trains on every row; these are held out from the classifier, not from the GKN.)"""
    n_held = CLASSIFIER_HELD_OUT.get(dataset_name)
    images = np.asarray(images)
    if n_held is None:
        return images
    order = np.random.default_rng(0).permutation(len(images))
    return images[order[:n_held]]


GenerationScorer = Callable[[np.ndarray], list[ClassScore]]


def generation_scorer(
    dataset_name: str, value_range: str, image_shape: tuple[int, int] | None
) -> GenerationScorer | None:
    """What the sampling job scores generations with: states (G, n_chains, D) -> the class score of
    each of the G generations (NaN with the reason for images without a classifier); None for data
    that are not images."""
    if image_shape is None:
        return None

    def score(generations: np.ndarray) -> list[ClassScore]:
        return class_scores(generations, dataset_name, value_range)

    return score
