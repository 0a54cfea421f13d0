"""Run the ready sweeps of sweeps/ and draw the figures of docs/sweeps.md with the app's sweep view.

    .venv/bin/python scripts/sweep_figures.py                       # all sweeps, into runs/sweeps/
    .venv/bin/python scripts/sweep_figures.py --only gkn-depth --out-dir /tmp/sweeps

A sweep already finished in its folder is not run again (sweeps resume). Each figure is the SweepView
exported offscreen (docs/images/sweep-*.png), and its numbers are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (sweep file, figure, metric, second metric (dashed) or None, x field, log x, log y)
FIGURES = (
    (
        "gkn-depth",
        "sweep-depth-capture",
        "one_step_capture",
        "one_step_capture_untrained",
        "model.layers",
        False,
        False,
    ),
    (
        "gkn-depth",
        "sweep-depth-flat-near-data",
        "flat_some_near_data",
        "flat_some_near_data_untrained",
        "model.layers",
        False,
        False,
    ),
    ("gkn-points", "sweep-points-corner-loss", "corner_loss", None, "data.n", True, True),
    ("lyapunov-g", "sweep-lyapunov-g", "largest", None, "model.g", False, False),
    ("chaos-g", "sweep-chaos-before-after", "lyapunov_after", "lyapunov_before", "model.g", False, False),
)


def run(name: str, out_dir: Path, workers: int | None) -> None:
    from gkn_core.sweeps import build_spec, read_sweep_file, run_sweep

    spec = build_spec(read_sweep_file(ROOT / "sweeps" / f"{name}.toml"))
    start = time.perf_counter()
    outcome = run_sweep(spec, out_dir / name, workers=workers)
    print(
        f"{name}: {outcome.total} jobs, {outcome.completed} run now, {outcome.already_done} already done, "
        f"{len(outcome.failed)} failed, {time.perf_counter() - start:.0f} s",
        flush=True,
    )


def markdown(view, metric: str, x: str) -> str:
    """The figure's numbers: mean ± std (n seeds) per point, one column per curve."""
    curves = view.curves
    values = sorted({v for c in curves for v in c.x_values}, key=lambda v: (isinstance(v, str), v))
    head = f"| {x} | " + " | ".join(c.label or metric for c in curves) + " |"
    lines = [head, "|" + "---|" * (len(curves) + 1)]
    for value in values:
        cells = []
        for curve in curves:
            if value in curve.x_values:
                i = curve.x_values.index(value)
                mean, std = curve.mean[i], curve.std[i]
                cells.append(f"{mean:.3g} ± {std:.2g}" if math.isfinite(mean) else "")
            else:
                cells.append("")
        lines.append(f"| {value} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def draw(out_dir: Path, images: Path, only: set[str] | None) -> None:
    import pyqtgraph as pg
    from PyQt6.QtWidgets import QApplication

    from app.views.sweep import SweepView

    app = QApplication.instance() or QApplication(sys.argv)
    pg.setConfigOptions(antialias=True, background="w", foreground="k")
    images.mkdir(parents=True, exist_ok=True)
    for name, figure, metric, compare, x, log_x, log_y in FIGURES:
        if only and name not in only:
            continue
        view = SweepView()
        view.resize(900, 560)
        view.show()
        view.open_folder(out_dir / name)
        view.set_selection(metric, x, log_x=log_x, log_y=log_y, compare=compare)
        app.processEvents()
        path = images / f"{figure}.png"
        view.export_png(path, width=900)
        print(f"\n{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {metric} against {x}")
        for shown in (metric, compare) if compare else (metric,):
            view.set_selection(shown, x)  # one metric at a time for its table
            print(f"\n{shown} against {x}" if compare else "")
            print(markdown(view, shown, x))
        view.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out-dir", type=Path, default=ROOT / "runs/sweeps", help="sweep folders")
    parser.add_argument("--images", type=Path, default=ROOT / "docs" / "images", help="where PNGs go")
    parser.add_argument("--only", action="append", help="a sweep name (gkn-depth, ...); repeatable")
    parser.add_argument("--workers", type=int, default=None, help="local processes (default: CPUs)")
    parser.add_argument("--no-run", action="store_true", help="only draw the folders as they are")
    args = parser.parse_args()
    only = set(args.only) if args.only else None
    if not args.no_run:
        for name in dict.fromkeys(f[0] for f in FIGURES):
            if only is None or name in only:
                run(name, args.out_dir, args.workers)
    draw(args.out_dir, args.images, only)


if __name__ == "__main__":
    main()
