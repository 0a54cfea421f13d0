"""Run the claims at a budget into a report folder; a rerun keeps what is finished.

Each claim's result is kept as DIR/runs/<id>/result.json together with the budget it was made at;
a rerun at the same budget loads it instead of measuring again, and the sweeps behind a claim skip
their finished jobs (gkn_core.sweeps). claims.json, report.md and the figures are rewritten at the
end of every run from all the results of the folder's budget.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from gkn_core.errors import ConfigError, GKNError
from gkn_core.reproduce.budgets import get_budget
from gkn_core.reproduce.chaos_claims import claim_d, claim_e, claim_g
from gkn_core.reproduce.chaos_fh_claims import claim_f, claim_h
from gkn_core.reproduce.claims import CLAIM_IDS, ClaimResult
from gkn_core.reproduce.context import Context
from gkn_core.reproduce.gkn_claims import claim_a, claim_b, claim_c
from gkn_core.reproduce.report import write_report

RUNNERS: dict[str, Callable[[Context], ClaimResult]] = {
    "a": claim_a,
    "b": claim_b,
    "c": claim_c,
    "d": claim_d,
    "e": claim_e,
    "f": claim_f,
    "g": claim_g,
    "h": claim_h,
}
RESULT_FILE = "result.json"


def check_only(only: Sequence[str] | None) -> list[str]:
    """The claim ids to run, in table order; ConfigError (one line) for an unknown one."""
    if not only:
        return list(CLAIM_IDS)
    wanted = [c.strip().lower() for item in only for c in item.split(",") if c.strip()]
    unknown = [c for c in wanted if c not in RUNNERS]
    if unknown:
        raise ConfigError(f"--only: unknown claim {unknown[0]!r} (known: {', '.join(CLAIM_IDS)})")
    return [c for c in CLAIM_IDS if c in wanted]


def check_out(out: str | Path) -> Path:
    """The report folder, created; ConfigError (one line) when it cannot be written."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out: {out} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".gkn-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"--out: cannot write to {out} ({exc.strerror or exc})") from None
    return out


def _saved(path: Path, budget: str) -> ClaimResult | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if raw.get("budget") != budget:
        return None
    return ClaimResult.from_dict(raw)


def run_reproduction(
    budget: str,
    out: str | Path,
    only: Sequence[str] | None = None,
    workers: int | None = None,
    log: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> list[ClaimResult]:
    """Run the claims `only` (default: all) at `budget` into `out` and write the report there."""
    spec = get_budget(budget)
    ids = check_only(only)
    out = check_out(out)
    if spec.name != "paper":  # CPU budgets: one thread per process beats contention on shared cores
        import torch

        torch.set_num_threads(1)
    ctx = Context(spec, out, workers, stop or threading.Event(), log)
    for claim_id in ids:
        saved_path = ctx.runs(claim_id) / RESULT_FILE
        if _saved(saved_path, spec.name) is not None:
            ctx.say(f"claim {claim_id}: finished before, kept")
            continue
        start = time.perf_counter()
        ctx.say(f"claim {claim_id}: running")
        result = RUNNERS[claim_id](ctx)
        import dataclasses

        result = dataclasses.replace(
            result, budget=spec.name, elapsed_s=round(time.perf_counter() - start, 1)
        )
        saved_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = saved_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(result.as_dict(), indent=1), encoding="utf-8")
        os.replace(tmp, saved_path)
        ctx.say(f"claim {claim_id}: {result.verdict} ({result.elapsed_s:.0f} s)")
    results = [r for c in CLAIM_IDS if (r := _saved(ctx.runs(c) / RESULT_FILE, spec.name)) is not None]
    if not results:
        raise GKNError("no claim finished")
    write_report(results, out, spec.name)
    return results
