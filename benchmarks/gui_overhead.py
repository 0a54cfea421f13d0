"""What the window costs training: steps/s headless vs in the app with its views live (offscreen).

In one process, side by side: (a) the training job run in a plain thread, writing its run file, as the
CLI does; (b) the same job started from the window, whose timer redraws the views (the tab in front
is switched between the 2D manifold and the loss view every --switch-ms so both keep drawing). While
(b) runs, a 10 ms heartbeat timer on the GUI thread measures how long the event loop stalls (p50, p99, max).

    QT_QPA_PLATFORM=offscreen python benchmarks/gui_overhead.py [--preset 2d] [--steps 3000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from report import Figure, write_figures
from window_timing import HEARTBEAT_MS, rate_in_thread, run_in_window

from app.main import make_application
from gkn_core.gkn.config import preset_config
from gkn_core.gkn.sessions import training_session


def headless_rate(preset: str, steps: int, folder: Path, tag: str) -> float:
    config = preset_config(preset, {"train": {"steps": steps}})
    _, snapshots = training_session(config, folder / f"headless-{tag}.h5")
    return rate_in_thread(snapshots, steps)


def windowed_rate(
    app, preset: str, steps: int, folder: Path, switch_ms: int = 1000
) -> tuple[float, np.ndarray]:
    from PyQt6.QtCore import QSettings

    from app.labs import VIEWS
    from app.main_window import MainWindow

    window = MainWindow(
        runs_dir=folder / "runs", settings=QSettings(str(folder / "s.ini"), QSettings.Format.IniFormat)
    )
    window.resize(1400, 860)
    window.show()
    window.gkn.controls.preset.setCurrentText(preset)
    window.gkn.controls.train_steps.setValue(steps)
    def start():
        window.gkn.train_play()
        return window.gkn.train_thread

    elapsed, stalls = run_in_window(window, start, [VIEWS.index("2d"), VIEWS.index("loss")], switch_ms)
    drawn = window.gkn.state.steps.size
    window.close()
    assert drawn == steps, f"the window received {drawn} of {steps} snapshots"
    return steps / elapsed, stalls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="2d")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--switch-ms", type=int, default=1000, help="how often the tab in front changes")
    parser.add_argument("--json", metavar="PATH", help="also write the figures there (for run_all.py)")
    args = parser.parse_args()
    app = make_application(offscreen=True)
    headless, windowed, all_stalls = [], [], []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for repeat in range(args.repeats):  # interleaved, so drifts in machine load hit both alike
            headless.append(headless_rate(args.preset, args.steps, folder, str(repeat)))
            rate, stalls = windowed_rate(app, args.preset, args.steps, folder / str(repeat), args.switch_ms)
            windowed.append(rate)
            all_stalls.append(stalls)
    stalls = np.concatenate(all_stalls)
    h, w = float(np.median(headless)), float(np.median(windowed))
    print(f"preset {args.preset}, {args.steps} steps x {args.repeats}, tab switch every {args.switch_ms} ms")
    runs = {name: ", ".join(f"{x:,.0f}" for x in rates) for name, rates in (("h", headless), ("w", windowed))}
    print(f"training steps/s headless (thread + run file): {h:,.0f}   (runs: {runs['h']})")
    print(f"training steps/s in the window, views live:    {w:,.0f}   (runs: {runs['w']})")
    print(f"ratio window / headless: {w / h:.2f}   (target >= 0.95)")
    print(
        f"GUI event-loop stall over a {HEARTBEAT_MS} ms heartbeat: p50 {np.percentile(stalls, 50):.1f} ms, "
        f"p99 {np.percentile(stalls, 99):.1f} ms, max {stalls.max():.1f} ms   (target p99 < 30 ms)"
    )
    write_figures(
        args.json,
        [
            Figure(
                f"{args.preset} training in the window, views live",
                w,
                "steps/s",
                f"headless (thread + run file) {h:,.0f} steps/s",
                w / h,
                ">= 0.95",
            ),
            Figure(
                "GUI event-loop stall while training, p99",
                float(np.percentile(stalls, 99)),
                "ms",
                f"p50 {np.percentile(stalls, 50):.1f} ms, max {stalls.max():.1f} ms",
                target="< 30 ms",
            ),
        ],
    )


if __name__ == "__main__":
    main()
