"""Run every benchmark and write one performance report (docs/performance.md).

    python benchmarks/run_all.py                       # full budgets (about 10 min on a 2-core CPU)
    python benchmarks/run_all.py --quick --out /tmp/performance.md   # small budgets (CI)
    python benchmarks/run_all.py --only gkn_throughput # one benchmark; the other rows of the
                                                       # report are kept as they were

Each benchmark runs in its own process (fair threads, no shared state) with `--json PATH`, and hands
back its figures (benchmarks/report.py): what was measured, the value, what it is measured against and
the ratio, and the target where there is one. To add a benchmark, add a row to BENCHMARKS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from report import Figure, read_figures

NOTES = "## Notes"  # a report's hand-written section, kept by every later run
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@dataclass(frozen=True)
class Benchmark:
    name: str
    script: str
    full: tuple[str, ...]  # arguments of the full run
    quick: tuple[str, ...]  # arguments of the quick run (CI): small budgets, same figures
    about: str  # one line for the report: what the figures mean
    threads: bool = False  # takes --threads N


BENCHMARKS = [
    Benchmark(
        "gkn_throughput",
        "gkn_throughput.py",
        (),
        ("--quick",),
        "GKN training and sampling rates of the job (recording its run file) against a bare torch loop "
        "doing the same arithmetic; manifold and basin maps of the 2d model.",
        threads=True,
    ),
    Benchmark(
        "gui_overhead",
        "gui_overhead.py",
        ("--steps", "3000", "--repeats", "2"),
        ("--steps", "300", "--repeats", "1"),
        "Training in the window (views live, offscreen) against the same training headless; how long the "
        "GUI event loop stalls meanwhile.",
    ),
    Benchmark(
        "chaos_gui_overhead",
        "chaos_gui_overhead.py",
        ("--steps", "400", "--repeats", "3"),
        ("--steps", "20", "--repeats", "1", "--switch-ms", "200"),
        "Chaos training (digits8) in the window with the chaos views live, the front tab cycling through "
        "training, dynamics and Lyapunov every second, against the same training headless.",
    ),
    Benchmark(
        "chaos_throughput",
        "chaos_throughput.py",
        (),
        ("--repeat", "1", "--paper-steps", "1", "--lyapunov-steps", "5", "--chains", "2"),
        "One contrastive Hebbian step against its matrix products alone (the roofline); the batched "
        "Lyapunov code against a per-trajectory numpy reference; paper-size training speed.",
        threads=True,
    ),
    Benchmark(
        "lyapunov_speed",
        "lyapunov_speed.py",
        (),
        ("--quick",),
        "Lyapunov spectra in float64, each against its reference in one run (interleaved): the digits8-size "
        "network's whole spectrum (analytic tangent map) against per-trajectory numpy, the paper-size "
        "network against its matrix products alone, the Henon map (generic JVP path) against a numpy loop.",
        threads=True,
    ),
    Benchmark(
        "cli_startup",
        "cli_startup.py",
        ("--repeats", "7"),
        ("--repeats", "3"),
        "How long the quick gkn commands take (--help, version, presets, runs show), side by side "
        "with `python -c \"import torch\"` (interleaved rounds, medians): none of them loads torch.",
    ),
    Benchmark(
        "stop_latency",
        "stop_latency.py",
        (),
        ("--stops", "1", "--no-paper"),
        "Seconds from Stop (asked from another thread at a random moment) to the job's thread ending, "
        "for every job kind at its default preset and chaos training at paper size; worst of the stops.",
    ),
    Benchmark(
        "gpu_check",
        "gpu_check.py",
        (),
        ("--steps", "1", "--repeat", "1"),
        "Paper-mnist CHL steps/s on the current device against the same matrix products alone, and the "
        "300k-step projection; on CUDA with the phases as captured CUDA graphs and, beside it, eager.",
        threads=True,
    ),
]


def device_description() -> str:
    """CPU model and cores, torch version, GPU or none."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import torch

    gpu = (
        ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        if torch.cuda.is_available()
        else "none"
    )
    return (
        f"CPU {cpu} ({os.cpu_count()} cores), torch {torch.__version__} "
        f"(default {torch.get_num_threads()} threads), GPU: {gpu}; Python {platform.python_version()}"
    )


def run_benchmark(
    bench: Benchmark, quick: bool, folder: Path, threads: int
) -> tuple[list[Figure], str, float]:
    """Run one benchmark in its own process; its figures, the command line and the seconds it took."""
    args = (*(bench.quick if quick else bench.full), *(("--threads", str(threads)) if bench.threads else ()))
    out = folder / f"{bench.name}.json"
    command = [sys.executable, str(HERE / bench.script), *args, "--json", str(out)]
    shown = " ".join(["python", f"benchmarks/{bench.script}", *map(shlex.quote, args)])
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    start = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
    seconds = time.monotonic() - start
    if result.returncode != 0:
        raise SystemExit(f"{bench.name} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    print(result.stdout, end="", flush=True)
    return read_figures(out), shown, seconds


def number(value: float) -> str:
    if value != value:  # nan
        return "nan"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def kept_lines(previous: str, bench: Benchmark) -> tuple[list[str], list[str]]:
    """The table rows and the benchmark line of `bench` in a previous report (kept when it is not run)."""
    mark = f"`python benchmarks/{bench.script}"
    lines = previous.splitlines()
    rows = [line for line in lines if line.startswith("| ") and line.rstrip().endswith("` |")]
    rows = [line for line in rows if mark in line.rsplit("|", 2)[-2]]  # by its command cell
    about = [line for line in lines if line.startswith(f"- {mark}")]
    return rows, about


def report(
    results: list[tuple[Benchmark, list[Figure], str, float]],
    quick: bool,
    device: str,
    threads: int,
    load: str,
    previous: str = "",
) -> str:
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Performance",
        "",
        "Every figure the benchmarks measure, in one table. Written by `python benchmarks/run_all.py`"
        f"{' --quick (small budgets: CI checks that nothing rots; the values are rough)' if quick else ''}.",
        "",
        f"- **Date:** {date}",
        f"- **Device:** {device}",
        f"- **Machine load:** {load}; other programs running at the same time lower the rates",
        f"- **Threads:** {threads or 'the default number of'} torch thread(s) in the benchmarks that take "
        "`--threads`; the window benchmark leaves one core to the GUI, as the app does",
        "- **Ratios** are the figure against what it is measured against (the same arithmetic in a bare",
        "  torch loop, the same training headless, the matrix products alone): they move much less than",
        "  absolute rates on a shared machine, where other processes take CPU time.",
        "",
        "| figure | value | measured against | ratio | target | command |",
        "|---|---|---|---|---|---|",
    ]
    ran = {bench.name: (figures, command, seconds) for bench, figures, command, seconds in results}
    abouts = []
    for bench in BENCHMARKS:
        if bench.name not in ran:  # not run this time: its rows as the previous report had them
            rows, about = kept_lines(previous, bench)
            lines += rows
            abouts += about
            continue
        figures, command, seconds = ran[bench.name]
        for f in figures:
            ratio = "" if f.ratio is None else f"{f.ratio:.2f}"
            value = f"{number(f.value)} {f.unit}"
            lines.append(f"| {f.name} | {value} | {f.against} | {ratio} | {f.target} | `{command}` |")
        abouts.append(f"- `{command}` ({seconds:.0f} s, {len(figures)} figures): {bench.about}")
    if len(ran) < len(BENCHMARKS) and previous:
        lines += ["", "Rows of benchmarks not run this time are kept from the previous report."]
    lines += ["", "## The benchmarks", "", *abouts]
    lines += [
        "",
        "All benchmarks at once: `python benchmarks/run_all.py` (`--quick` for small budgets, "
        "`--only NAME` for one). `tests/test_benchmarks.py` runs the quick version in CI.",
        "",
    ]
    if NOTES in previous:  # the notes written by hand under the table stay
        lines += [NOTES + previous.split(NOTES, 1)[1].rstrip("\n"), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small budgets (CI)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "performance.md"), help="the report to write")
    parser.add_argument(
        "--only", action="append", choices=[b.name for b in BENCHMARKS], help="run only these"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads for the benchmarks that take it (1: fair on a shared machine; 0: torch's)",
    )
    args = parser.parse_args()
    chosen = [b for b in BENCHMARKS if not args.only or b.name in args.only]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as scratch:
        results = []
        for bench in chosen:
            print(f"== {bench.name}", flush=True)
            results.append((bench, *run_benchmark(bench, args.quick, Path(scratch), args.threads)))
    load = f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after (1-minute load average)"
    out = Path(args.out)
    previous = out.read_text() if out.exists() else ""
    if not args.only:  # a full run replaces every row; only the notes stay
        previous = previous[previous.index(NOTES) :] if NOTES in previous else ""
    out.write_text(report(results, args.quick, device_description(), args.threads, load, previous))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
