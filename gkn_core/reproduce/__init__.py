"""`gkn reproduce`: every claim of the two papers run at a budget, measured beside its baseline, with a
verdict by a stated rule, written as DIR/claims.json, DIR/report.md and DIR/figures/*.png.

    from gkn_core.reproduce import run_reproduction, load_report
    results = run_reproduction("quick", "runs/reproduce")      # resumable: finished claims are kept
    results = load_report("runs/reproduce")                    # list[ClaimResult]

See docs/reproduction.md.
"""

from gkn_core.reproduce.budgets import BUDGETS, Budget, get_budget
from gkn_core.reproduce.claims import CLAIM_IDS, ClaimResult
from gkn_core.reproduce.report import load_report, write_report
from gkn_core.reproduce.runner import run_reproduction

__all__ = [
    "BUDGETS",
    "CLAIM_IDS",
    "Budget",
    "ClaimResult",
    "get_budget",
    "load_report",
    "run_reproduction",
    "write_report",
]
