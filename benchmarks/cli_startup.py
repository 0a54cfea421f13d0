"""How fast the quick `gkn` commands answer, against `python -c "import torch"` (issue #12.3).

    python benchmarks/cli_startup.py [--repeats 7] [--json PATH]

Every round runs each command once, in turn (interleaved, so a busy machine slows them alike); the
figure is each command's median over the rounds divided by the median of `import torch`. Target:
below 0.3. The commands run the console script's entry point (app.entry), `gkn runs show` on a small
GKN run made first.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from report import Figure, write_figures

ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.3


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def gkn(*args: str) -> list[str]:
    return [sys.executable, "-m", "app.entry", *args]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", metavar="PATH", help="also write the figures there (for run_all.py)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gkn-startup-") as scratch:
        run = Path(scratch) / "run.h5"
        subprocess.run(
            gkn("train", "gkn", "--preset", "1d", "--steps", "20", "-q", "--out", str(run)),
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        commands = {
            "import torch": [sys.executable, "-c", "import torch"],
            "gkn --help": gkn("--help"),
            "gkn version": gkn("version"),
            "gkn presets": gkn("presets"),
            "gkn train gkn --help": gkn("train", "gkn", "--help"),
            "gkn runs show RUN.h5": gkn("runs", "show", str(run)),
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeats):
            for name, argv in commands.items():
                times[name].append(timed(argv))
    median = {name: statistics.median(values) for name, values in times.items()}
    torch_s = median.pop("import torch")
    print(f"python -c 'import torch': {torch_s * 1000:.0f} ms (median of {args.repeats}, interleaved)")
    figures = []
    for name, seconds in median.items():
        ratio = seconds / torch_s
        print(f"{name:24} {seconds * 1000:6.0f} ms   ratio to import torch {ratio:.2f} (target < {TARGET})")
        against = f"python -c 'import torch': {torch_s * 1000:,.0f} ms"
        figures.append(Figure(name, seconds * 1000, "ms", against, ratio, f"< {TARGET}"))
    write_figures(args.json, figures)


if __name__ == "__main__":
    main()
