"""`gkn reproduce`: run every claim of both papers at a budget and write a report folder.

    gkn reproduce --budget quick --out DIR [--only a --only e ...] [--workers N]

`register(cli)` adds the command to gkn_core.cli. Bad input (budget, claim id, an unwritable folder)
is one line and exit code 2; a rerun keeps the finished claims and sweep jobs.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


def reproduce(
    budget: Annotated[
        str, typer.Option(help="quick (<= 15 min on 2 CPU cores) or paper (GPU sizes).")
    ] = "quick",
    out: Annotated[
        Path | None, typer.Option(help="The report folder (claims.json, report.md, figures/, runs/).")
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option(help="Run only these claims (a..h); repeat or comma-separate.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=0, help="Sweep pool size (default: the CPUs; 0: in this process).")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress lines.")] = False,
) -> None:
    """Run the papers' claims at a budget; write claims.json, report.md and figures into --out."""
    from gkn_core.errors import GKNError
    from gkn_core.reproduce.budgets import get_budget
    from gkn_core.reproduce.runner import check_only, check_out, run_reproduction

    get_budget(budget)
    check_only(only)
    if out is None:
        raise GKNError("--out: give the report folder, e.g. --out runs/reproduce")
    check_out(out)
    stop = threading.Event()
    log = None if quiet else (lambda line: stderr.print(line, markup=False, highlight=False))
    results = run_reproduction(budget, out, only, workers, log, stop)
    for r in results:
        stdout.print(f"({r.id}) {r.verdict}", markup=False, highlight=False)
    stdout.print(f"report: {Path(out) / 'report.md'}", markup=False, highlight=False)


def register(cli: typer.Typer) -> None:
    """Add `gkn reproduce` to the gkn CLI."""
    cli.command("reproduce")(reproduce)
