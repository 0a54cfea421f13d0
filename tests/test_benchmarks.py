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


def test_gkn_throughput_quick_prints_its_table():
    out = run_benchmark(str(BENCHMARKS / "gkn_throughput.py"), "--quick")
    for preset in ("1d", "2d", "digits8", "mnist"):
        assert preset in out
    assert "recorded / bare" in out and "256x256 manifold" in out and "ms per call" in out


def test_gui_overhead_prints_a_ratio_and_stalls():
    out = run_benchmark(str(BENCHMARKS / "gui_overhead.py"), "--steps", "200", "--repeats", "1")
    assert "ratio window / headless:" in out and "p99" in out


@pytest.mark.slow
def test_chaos_throughput_runs_on_a_small_budget():
    out = run_benchmark(
        str(BENCHMARKS / "chaos_throughput.py"),
        "--repeat",
        "1",
        "--paper-steps",
        "1",
        "--lyapunov-steps",
        "5",
        "--chains",
        "2",
    )
    assert "ratio" in out


def test_chaos_gui_overhead_prints_a_ratio():
    out = run_benchmark(
        str(BENCHMARKS / "chaos_gui_overhead.py"), "--steps", "20", "--repeats", "1", "--switch-ms", "200"
    )
    assert "ratio window / headless:" in out and "p99" in out
