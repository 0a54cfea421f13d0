"""Every benchmark script runs end to end on a small budget, so none of them rots unnoticed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run_benchmark(*args: str) -> str:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=300, env=env, cwd=BENCHMARKS.parent
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_run_all_quick_runs_one_benchmark_and_writes_its_report(tmp_path):
    """The quick version (default run): run_all.py with one benchmark, its output and its report rows."""
    report = tmp_path / "performance.md"
    out = run_benchmark(
        str(BENCHMARKS / "run_all.py"), "--quick", "--only", "gui_overhead", "--out", str(report)
    )
    assert "ratio window / headless" in out and "p99" in out
    text = report.read_text()
    assert "**Device:** CPU" in text and "**Date:** 20" in text and "torch " in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| figure")]
    assert rows and any(row.startswith("| 2d training in the window") for row in rows)
    for row in rows:
        name, value, _against, _ratio, _target, command = (cell.strip() for cell in row.strip("|").split("|"))
        assert name and value.split()[0].replace(",", "").replace(".", "", 1).isdigit(), row
        assert command.startswith("`python benchmarks/") and command.endswith("`"), row


@pytest.mark.full
def test_run_all_quick_runs_every_benchmark_and_writes_the_report(tmp_path):
    """benchmarks/run_all.py --quick: each benchmark's own output, and one table of every figure."""
    report = tmp_path / "performance.md"
    out = run_benchmark(str(BENCHMARKS / "run_all.py"), "--quick", "--out", str(report))
    # what each benchmark prints
    for preset in ("1d", "2d", "digits8", "mnist"):
        assert preset in out
    assert "recorded / bare" in out and "256x256 manifold" in out and "ms per call" in out
    assert "ratio window / headless" in out and "p99" in out
    assert "(a) digits8" in out and "speed-up" in out
    # the report: a row per figure, with a number, what it is measured against and its command
    text = report.read_text()
    assert "**Device:** CPU" in text and "**Date:** 20" in text and "torch " in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| figure")]
    assert len(rows) >= 16
    for row in rows:
        name, value, against, ratio, _target, command = (cell.strip() for cell in row.strip("|").split("|"))
        assert name and value.split()[0].replace(",", "").replace(".", "", 1).isdigit(), row
        assert command.startswith("`python benchmarks/") and command.endswith("`"), row
        if ratio:
            assert float(ratio) > 0 and against, row
    for figure in (
        "2d training in the window",
        "GUI event-loop stall",
        "chaos digits8 training in the window",
        "chaos CHL step, paper-mnist",
    ):
        assert any(row.startswith(f"| {figure}") for row in rows), figure
