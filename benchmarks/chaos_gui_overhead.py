"""What the window costs chaos training: steps/s headless vs in the app with the chaos views live.

In one process, side by side and interleaved: (a) the chaos training job of a preset run in a plain
thread, writing its run file, as the CLI does; (b) the same job started from the window's chaos lab,
whose timer redraws the views while the tab in front cycles through the training, dynamics and
Lyapunov views every --switch-ms (the dynamics and Lyapunov jobs are computed once before (b) starts,
so only training competes for the CPU). A 10 ms heartbeat on the GUI thread measures event-loop stalls.

    QT_QPA_PLATFORM=offscreen python benchmarks/chaos_gui_overhead.py [--preset digits8] [--steps 600]
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

from app.main import make_application, wait_until
from gkn_core.chaos.config import chaos_preset_config
from gkn_core.chaos.sessions import chaos_training_session

CHAOS_TABS = ("chaos", "dynamics", "lyapunov")


def headless_rate(preset: str, steps: int, folder: Path, tag: str) -> float:
    config = chaos_preset_config(preset, {"train": {"steps": steps}})
    _, snapshots = chaos_training_session(config, folder / f"headless-{tag}.h5")
    return rate_in_thread(snapshots, steps)


def windowed_rate(app, preset: str, steps: int, folder: Path, switch_ms: int) -> tuple[float, np.ndarray]:
    from PyQt6.QtCore import QSettings

    from app.labs import VIEWS
    from app.main_window import MainWindow

    window = MainWindow(
        runs_dir=folder / "runs", settings=QSettings(str(folder / "s.ini"), QSettings.Format.IniFormat)
    )
    window.resize(1400, 860)
    window.show()
    lab = window.chaos
    lab.controls.preset.setCurrentText(preset)
    lab.controls.train_steps.setValue(steps)
    window.tabs.setCurrentIndex(VIEWS.index("dynamics"))  # its trajectories, computed before timing
    lab.start_lyapunov(lab.lyapunov_view.settings())
    wait_until(app, lambda: lab.dynamics_thread.finished and lab.lyapunov_thread.finished, 300)

    def start():
        lab.train_play()
        return lab.train_thread

    elapsed, stalls = run_in_window(window, start, [VIEWS.index(name) for name in CHAOS_TABS], switch_ms)
    received = lab.train_state.steps.size
    window.close()
    assert received == steps, f"the window received {received} of {steps} snapshots"
    return steps / elapsed, stalls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="digits8")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--switch-ms", type=int, default=1000, help="how often the tab in front changes")
    parser.add_argument("--json", metavar="PATH", help="also write the figures there (for run_all.py)")
    args = parser.parse_args()
    app = make_application(offscreen=True)
    headless, windowed, all_stalls = [], [], []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        headless_rate(args.preset, 20, folder, "warm-up")  # first-use costs (data, kernels) out of the way
        for repeat in range(args.repeats):  # interleaved, so drifts in machine load hit both alike
            headless.append(headless_rate(args.preset, args.steps, folder, str(repeat)))
            rate, stalls = windowed_rate(app, args.preset, args.steps, folder / str(repeat), args.switch_ms)
            windowed.append(rate)
            all_stalls.append(stalls)
    stalls = np.concatenate(all_stalls)
    h, w = float(np.median(headless)), float(np.median(windowed))
    print(
        f"chaos preset {args.preset}, {args.steps} steps x {args.repeats}, "
        f"tab switch every {args.switch_ms} ms"
    )
    runs = {name: ", ".join(f"{x:,.1f}" for x in rates) for name, rates in (("h", headless), ("w", windowed))}
    print(f"chaos training steps/s headless (thread + run file): {h:,.1f}   (runs: {runs['h']})")
    print(f"chaos training steps/s in the window, views live:    {w:,.1f}   (runs: {runs['w']})")
    print(f"ratio window / headless: {w / h:.2f}   (target >= 0.95)")
    print(
        f"GUI event-loop stall over a {HEARTBEAT_MS} ms heartbeat: p50 {np.percentile(stalls, 50):.1f} ms, "
        f"p99 {np.percentile(stalls, 99):.1f} ms, max {stalls.max():.1f} ms"
    )
    p99 = float(np.percentile(stalls, 99))
    write_figures(
        args.json,
        [
            Figure(
                f"chaos {args.preset} training in the window, views live (tab every {args.switch_ms} ms)",
                w,
                "steps/s",
                f"headless (thread + run file) {h:,.1f} steps/s",
                w / h,
                ">= 0.95",
            ),
            Figure("GUI event-loop stall while chaos training, p99", p99, "ms"),
        ],
    )


if __name__ == "__main__":
    main()
