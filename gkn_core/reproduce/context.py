"""What every claim runner gets: the budget, the report folder, the pool size; and `sweep`, which
runs (or resumes) one sweep of a claim under DIR/runs/<claim>/<name> with the sweep runner."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gkn_core.errors import GKNError
from gkn_core.reproduce.budgets import Budget


@dataclass
class Context:
    budget: Budget
    out: Path
    workers: int | None = None  # sweep pool size (None: the CPUs; 0: in this process)
    stop: threading.Event = field(default_factory=threading.Event)
    log: Any = None  # callable(str) for progress lines, or None
    cache: dict[Any, Any] = field(default_factory=dict)  # measures shared by claims of one run

    def say(self, text: str) -> None:
        if self.log is not None:
            self.log(text)

    def runs(self, claim: str) -> Path:
        return self.out / "runs" / claim

    def sweep(self, claim: str, name: str, raw: dict[str, Any]) -> Any:
        """Run the sweep `raw` (a sweep file's keys) into runs/<claim>/<name>; its SweepTable.

        Finished jobs of an earlier run of the same sweep are skipped. A failed job is an error.
        """
        from gkn_core.sweeps import build_spec, load_sweep, run_sweep

        spec = build_spec(raw)
        folder = self.runs(claim) / name
        self.say(f"claim {claim}: sweep {name} ({len(spec.seeds)} seeds) -> {folder}")
        outcome = run_sweep(spec, folder, workers=self.workers, stop=self.stop)
        if outcome.failed:
            job, reason = outcome.failed[0]
            raise GKNError(f"claim {claim}: sweep {name}: job {job} failed: {reason}")
        if outcome.stopped or outcome.not_started:
            raise GKNError(f"claim {claim}: sweep {name} was stopped (rerun to finish it)")
        return load_sweep(folder)


def runs_by_point(table: Any, fields: list[str]) -> dict[tuple, list[Path]]:
    """The run files of a sweep table grouped by the values of `fields`, ordered by seed."""
    out: dict[tuple, list[Path]] = {}
    for row in sorted(table.rows, key=lambda r: r.seed):
        key = tuple(row.point[f] for f in fields)
        out.setdefault(key, []).append(row.run)
    return out


def sweep_spec(
    kind: str,
    seeds: int,
    metrics: list[str],
    preset: str | None = None,
    grid: dict[str, list[Any]] | None = None,
    settings: dict[str, Any] | None = None,
    **more: Any,
) -> dict[str, Any]:
    """A sweep's keys, as a sweep file (docs/sweeps.md) would write them."""
    raw: dict[str, Any] = {"kind": kind, "seeds": seeds, "metrics": metrics}
    optional = {"preset": preset, "grid": grid, "set": settings, **more}
    raw.update({key: value for key, value in optional.items() if value is not None})
    return raw
