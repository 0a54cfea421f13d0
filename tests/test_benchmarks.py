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
    assert "ratio window / headless:" in out and "p99" in out
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
    assert "ratio window / headless:" in out and "p99" in out
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


def test_a_partial_run_keeps_the_rows_of_the_benchmarks_it_did_not_run(monkeypatch):
    """run_all.py --only NAME rewrites NAME's rows and keeps every other row of the previous report."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import run_all
    from report import Figure

    previous = "\n".join(
        [
            "| figure | value | measured against | ratio | target | command |",
            "|---|---|---|---|---|---|",
            "| 2d training in the window | 888 steps/s | headless 1,298 (remeasured by X) | 0.68 | >= 0.95 "
            "| `python benchmarks/gui_overhead.py --steps 3000` |",
            "| old startup | 9 ms | torch 900 ms | 0.01 | < 300 | `python benchmarks/cli_startup.py` |",
            "",
            "- `python benchmarks/gui_overhead.py --steps 3000` (16 s, 2 figures): the window.",
            "",
            "## Notes",
            "",
            "No GPU was lent.",
        ]
    )
    bench = next(b for b in run_all.BENCHMARKS if b.name == "cli_startup")
    fresh = [Figure("gkn --help", 120.0, "ms", "torch import 900 ms", 0.13, "< 300")]
    text = run_all.report(
        [(bench, fresh, "python benchmarks/cli_startup.py", 5.0)], False, "CPU", 1, "1.0", previous
    )
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| figure")]
    assert any("(remeasured by X)" in row and "gui_overhead.py" in row for row in rows)
    assert any(row.startswith("| gkn --help | 120.0 ms") for row in rows)
    assert not any("old startup" in row for row in rows)  # the benchmark that ran replaced its rows
    assert "- `python benchmarks/gui_overhead.py --steps 3000` (16 s, 2 figures)" in text
    # the table order is BENCHMARKS' order: the window rows before the startup rows
    assert text.index("gui_overhead.py --steps 3000` |") < text.index("| gkn --help")
    assert text.rstrip().endswith("## Notes\n\nNo GPU was lent.")  # the hand-written notes stay


@pytest.mark.full
def test_gpu_check_says_which_device_it_measured():
    out = run_benchmark(str(BENCHMARKS / "gpu_check.py"), "--steps", "1", "--repeat", "1")
    assert "paper-mnist CHL" in out and "steps/s" in out and "300k steps in" in out and "ratio" in out
    assert ("NO GPU" in out) != ("CUDA graphs / eager" in out)
