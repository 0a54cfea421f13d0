"""Figures as data: every benchmark can hand its results to benchmarks/run_all.py.

A benchmark builds a list of Figure and, when run with `--json PATH`, writes it there with
`write_figures`. run_all.py collects them into docs/performance.md.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Figure:
    name: str  # what was measured, e.g. "2d training, recorded"
    value: float
    unit: str  # "steps/s", "ms", "x" ...
    against: str = ""  # what it is measured against, e.g. "bare torch loop: 1,234 steps/s"
    ratio: float | None = None  # value / the reference (or the reference / value, as `against` says)
    target: str = ""  # e.g. ">= 0.95"


def write_figures(path: str | Path | None, figures: list[Figure]) -> None:
    """Write the figures as JSON (a list of objects) when a path was given."""
    if path:
        Path(path).write_text(json.dumps([asdict(f) for f in figures], indent=1))


def read_figures(path: str | Path) -> list[Figure]:
    return [Figure(**item) for item in json.loads(Path(path).read_text())]
