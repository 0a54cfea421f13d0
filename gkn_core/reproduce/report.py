"""Writing and reading a reproduction report folder: claims.json (a list of ClaimResult objects,
docs/reproduction.md) and report.md (a verdict table, then one section per claim)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gkn_core.errors import GKNError
from gkn_core.reproduce.claims import VERDICTS, ClaimResult

CLAIMS_FILE = "claims.json"
REPORT_FILE = "report.md"
REQUIRED = ("id", "paper", "claim", "setting", "measured", "baseline", "verdict", "rule", "figure")


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_summary(value: Any) -> str:
    """'mean ± std (n=3)' for a summary, the number itself otherwise."""
    if isinstance(value, dict) and "mean" in value:
        std = value.get("std")
        spread = f" ± {_number(std)}" if std is not None else ""
        return f"{_number(value['mean'])}{spread} (n={value.get('n', 0)})"
    return _number(value)


def headline(result: ClaimResult) -> str:
    bits = []
    for part in result.parts:
        if "difference" in part:
            bits.append(
                f"{part['name']}: {_number(part['difference'])} ± {_number(part['se'])} -> {part['verdict']}"
            )
        else:
            bits.append(f"{part['name']}: best t={_number(part.get('best_time'))} -> {part['verdict']}")
    return "; ".join(bits) if bits else (result.notes[0] if result.notes else "")


def report_markdown(results: Sequence[ClaimResult], budget: str) -> str:
    lines = [
        f"# Reproduction report (budget `{budget}`)",
        "",
        "Each claim's measured numbers are shown beside its baseline, as mean ± std over seeds "
        "(n seeds); the verdict follows the rule stated with it (differences in the claimed "
        "direction, in units of their standard error).",
        "",
        "| claim | paper | verdict | numbers (difference ± s.e.) |",
        "|---|---|---|---|",
    ]
    for r in results:
        words = r.claim if len(r.claim) < 90 else r.claim[:87] + "..."
        lines.append(
            f"| ({r.id}) {words} | arXiv {r.paper.get('arxiv', '')} | **{r.verdict}** | {headline(r)} |"
        )
    for r in results:
        lines += [
            "",
            f"## ({r.id}) {r.verdict}",
            "",
            f"*{r.paper.get('title', '')}* ({', '.join(r.paper.get('authors', []))}, "
            f"arXiv {r.paper.get('arxiv', '')})",
            "",
            f"> {r.claim}",
            "",
            f"**Setting.** {r.setting.get('words', '')} (runs: `{r.runs}`, {r.elapsed_s:.0f} s)",
            "",
            "| measured | value | | baseline | value |",
            "|---|---|---|---|---|",
        ]
        m, b = list(r.measured.items()), list(r.baseline.items())
        for i in range(max(len(m), len(b))):
            left = (m[i][0], format_summary(m[i][1])) if i < len(m) else ("", "")
            right = (b[i][0], format_summary(b[i][1])) if i < len(b) else ("", "")
            lines.append(f"| {left[0]} | {left[1]} | | {right[0]} | {right[1]} |")
        lines += ["", f"**Rule.** {r.rule}", ""]
        for part in r.parts:
            lines.append(f"- {part['name']}: {part.get('what', '')} — {_headline_part(part)}")
        for note in r.notes:
            lines.append(f"- note: {note}")
        lines += ["", f"![claim {r.id}]({r.figure})"]
    return "\n".join(lines) + "\n"


def _headline_part(part: dict[str, Any]) -> str:
    if "difference" in part:
        diff, se = _number(part["difference"]), _number(part["se"])
        return f"difference {diff} ± {se} (1 s.e.): **{part['verdict']}**"
    return (
        f"best time {_number(part.get('best_time'))}, within the factor: {part.get('within_factor')}: "
        f"**{part['verdict']}**"
    )


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_report(results: Sequence[ClaimResult], out: str | Path, budget: str) -> None:
    out = Path(out)
    _write(out / CLAIMS_FILE, json.dumps([r.as_dict() for r in results], indent=1) + "\n")
    _write(out / REPORT_FILE, report_markdown(results, budget))


def load_report(folder: str | Path) -> list[ClaimResult]:
    """The claims of a report folder (what an app view shows); GKNError with one line if unreadable."""
    path = Path(folder) / CLAIMS_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GKNError(f"{folder}: no {CLAIMS_FILE} (not a reproduction report folder)") from None
    except (OSError, ValueError) as exc:
        raise GKNError(f"{path}: cannot read it ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, list):
        raise GKNError(f"{path}: expected a list of claims")
    results = []
    for i, item in enumerate(raw):
        missing = [k for k in REQUIRED if not isinstance(item, dict) or k not in item]
        if missing:
            raise GKNError(f"{path}: claim {i} lacks {missing[0]!r}")
        if item["verdict"] not in VERDICTS:
            raise GKNError(f"{path}: claim {item['id']} has an unknown verdict {item['verdict']!r}")
        results.append(ClaimResult.from_dict(item))
    return results
