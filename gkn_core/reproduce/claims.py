"""The claims of the two papers, the numbers a claim's result holds, and the verdict rule.

The rule, for each part of a claim (one comparison of a measured quantity with its baseline):
    diff = measured - baseline, signed so that the claimed direction is positive;
    se   = standard error of that difference (paired over seeds when both sides are the same seeds'
           networks, else sqrt(se_m^2 + se_b^2));
    reproduced      when diff - 2 se > 0          (the claimed effect, beyond its noise)
    not reproduced  when diff + 2 se <= 0         (no effect or the opposite one, beyond its noise)
    inconclusive    otherwise, or with fewer than 2 finite values on a side (no spread to judge by).
A claim of several parts is reproduced when every part is, not reproduced when any part is not,
and inconclusive otherwise. So a measured value equal to its baseline is never "reproduced".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

Verdict = Literal["reproduced", "not reproduced", "inconclusive"]
VERDICTS: tuple[str, ...] = ("reproduced", "not reproduced", "inconclusive")
NOISE_FACTOR = 2.0

GKN_PAPER = {
    "title": "Generative Kaleidoscopic Networks",
    "authors": ["Harsh Shrivastava"],
    "arxiv": "2402.11793",
}
CHAOS_PAPER = {
    "title": "Generative modeling through internal high-dimensional chaotic activity",
    "authors": ["Samantha J. Fournier", "Pierfrancesco Urbani"],
    "arxiv": "2405.10822",
}
# id -> (paper, the paper's words as given by the summaries)
CLAIMS: dict[str, tuple[dict[str, Any], str]] = {
    "a": (
        GKN_PAPER,
        "Deep ReLU networks learn a many-to-one mapping ... this effect is more prominent as "
        "we increase the number of layers or depth of the neural network (1D and 2D toy data).",
    ),
    "b": (
        GKN_PAPER,
        "Loss against the number of training points: the maximum loss at the 2^d hypercube "
        "corners falls as more points drawn from U[0,1]^d are learnt (d = 2 and 4).",
    ),
    "c": (
        GKN_PAPER,
        "The quality of samples recovered improves as we increase the depth of the model (images).",
    ),
    "d": (CHAOS_PAPER, "Performance metrics showed improvements during training."),
    "e": (CHAOS_PAPER, "Performance metrics showed ... a peak at sampling time T."),
    "f": (
        CHAOS_PAPER,
        "g controls the level of chaos in the untrained network, and training suppresses "
        "chaos by planting fixed points.",
    ),
    "g": (
        CHAOS_PAPER,
        "Two- and three-layer restricted models achieved better visual quality than the "
        "single-layer version.",
    ),
    "h": (CHAOS_PAPER, "Generated recognizable digits and clothing items on MNIST and Fashion-MNIST."),
}
CLAIM_IDS: tuple[str, ...] = tuple(CLAIMS)

RULE = (
    "Each part: diff = (measured - baseline) in the claimed direction, se its standard error over "
    "seeds; reproduced if diff - 2 se > 0, not reproduced if diff + 2 se <= 0, else inconclusive "
    "(also with fewer than 2 seeds). The claim is reproduced if every part is, not reproduced if any "
    "part is not."
)


@dataclass(frozen=True)
class ClaimResult:
    """One claim's outcome: one object of claims.json (docs/reproduction.md lists every field)."""

    id: str
    paper: dict[str, Any]
    claim: str
    setting: dict[str, Any]
    measured: dict[str, Any]  # name -> summary {mean, std, n, values}
    baseline: dict[str, Any]  # name -> summary
    verdict: str
    rule: str
    figure: str  # relative to the report folder
    parts: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    runs: str = ""  # the folder of the runs behind the claim, relative to the report folder
    budget: str = ""
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return _json_ready(asdict(self))

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ClaimResult:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in raw.items() if k in names})


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN: null means "no value"
    return value


def summary(values: Sequence[float]) -> dict[str, Any]:
    """mean, std (sample, ddof 1), n (finite values), se and the values themselves."""
    values = [float(v) for v in values]
    finite = [v for v in values if math.isfinite(v)]
    n = len(finite)
    mean = float(np.mean(finite)) if n else math.nan
    std = float(np.std(finite, ddof=1)) if n > 1 else math.nan
    return {
        "mean": mean,
        "std": std,
        "n": n,
        "se": std / math.sqrt(n) if n > 1 else math.nan,
        "values": values,
    }


def compare(
    name: str,
    measured: Sequence[float],
    baseline: Sequence[float],
    direction: Literal["higher", "lower"],
    paired: bool = False,
    what: str = "",
) -> dict[str, Any]:
    """One part of a claim: the difference, its standard error and the verdict by the rule."""
    m = np.asarray(measured, dtype=np.float64)
    b = np.asarray(baseline, dtype=np.float64)
    sign = 1.0 if direction == "higher" else -1.0
    diff = se = math.nan
    if paired and m.shape == b.shape:
        d = (m - b)[np.isfinite(m) & np.isfinite(b)]
        if len(d) >= 2:
            diff, se = sign * float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d)))
    else:
        sm, sb = summary(m), summary(b)
        if sm["n"] >= 2 and sb["n"] >= 2:
            diff = sign * (sm["mean"] - sb["mean"])
            se = math.sqrt(sm["se"] ** 2 + sb["se"] ** 2)
    return {
        "name": name,
        "what": what,
        "direction": direction,
        "paired": paired,
        "difference": diff,
        "se": se,
        "verdict": part_verdict(diff, se),
    }


def part_verdict(diff: float, se: float) -> Verdict:
    """The rule on one difference (already signed so that the claim says positive)."""
    if not (math.isfinite(diff) and math.isfinite(se)):
        return "inconclusive"
    if diff - NOISE_FACTOR * se > 0:
        return "reproduced"
    if diff + NOISE_FACTOR * se <= 0:
        return "not reproduced"
    return "inconclusive"


def combine(verdicts: Sequence[str]) -> Verdict:
    if verdicts and all(v == "reproduced" for v in verdicts):
        return "reproduced"
    if any(v == "not reproduced" for v in verdicts):
        return "not reproduced"
    return "inconclusive"


def make_result(
    claim_id: str,
    setting: dict[str, Any],
    measured: dict[str, Any],
    baseline: dict[str, Any],
    parts: list[dict[str, Any]],
    rule: str = RULE,
    notes: Sequence[str] = (),
    verdict: str | None = None,
) -> ClaimResult:
    paper, words = CLAIMS[claim_id]
    return ClaimResult(
        id=claim_id,
        paper=paper,
        claim=words,
        setting=setting,
        measured=measured,
        baseline=baseline,
        verdict=verdict if verdict is not None else combine([p["verdict"] for p in parts]),
        rule=rule,
        figure=f"figures/claim_{claim_id}.png",
        parts=parts,
        notes=list(notes),
        runs=f"runs/{claim_id}",
    )
