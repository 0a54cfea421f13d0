"""What the window costs chaos training: steps/s headless vs in the app with the chaos views live.

In one process, side by side and interleaved: (a) the chaos training job of a preset run in a plain
thread, writing its run file, as the CLI does; (b) the same job started from the window's chaos lab,
whose timer redraws the views while the tab in front cycles through the training, dynamics and
Lyapunov views every --switch-ms (the dynamics and Lyapunov jobs are computed once before (b) starts,
so only training competes for the CPU), once with the compute in QThreads (GKN_COMPUTE=thread) and
once in the compute process (the default). Rates are by the job's own clock (steps over its last
snapshot's `elapsed`), in (a) and (b) alike. A 10 ms heartbeat on the GUI thread measures event-loop
stalls (target p99 < 20 ms, max < 100 ms) once the window is shown and warmed up (every tab drawn once). That
process runs once on Qt's offscreen platform and once under a real X server (xvfb-run -a), and one
table shows both, with the load average before and after each.

    python benchmarks/chaos_gui_overhead.py [--preset digits8] [--steps 600] [--displays offscreen,xvfb]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from report import Figure, write_figures
from window_timing import (
    DISPLAYS,
    MODES,
    measure_modes,
    print_side_by_side,
    rate_in_thread,
    ready_compute,
    run_displays,
    run_in_window,
)

from app.main import make_application
from app.screenshot import wait_until
from gkn_core.chaos.config import chaos_preset_config
from gkn_core.chaos.sessions import chaos_training_session

CHAOS_TABS = ("chaos", "dynamics", "lyapunov")


def headless_rate(preset: str, steps: int, folder: Path, tag: str) -> float:
    config = chaos_preset_config(preset, {"train": {"steps": steps}})
    _, snapshots = chaos_training_session(config, folder / f"headless-{tag}.h5")
    return rate_in_thread(snapshots, steps)


def windowed_rate(
    app, preset: str, steps: int, folder: Path, switch_ms: int, mode: str = "thread"
) -> tuple[float, np.ndarray]:
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
    ready_compute(app, lab, mode)
    window.tabs.setCurrentIndex(VIEWS.index("dynamics"))  # its trajectories, computed before timing
    lab.start_lyapunov(lab.lyapunov_view.settings())
    wait_until(app, lambda: lab.dynamics_thread.finished and lab.lyapunov_thread.finished, 300)

    def start():
        lab.train_play()
        return lab.train_thread

    _, stalls = run_in_window(window, start, [VIEWS.index(name) for name in CHAOS_TABS], switch_ms)
    received = lab.train_state.steps.size
    rate = lab.train_state.steps_per_second  # by the job's clock (its last snapshot), as headless
    window.close()
    assert received == steps, f"the window received {received} of {steps} snapshots"
    return rate, stalls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="digits8")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--switch-ms", type=int, default=1000, help="how often the tab in front changes")
    parser.add_argument("--displays", default=",".join(DISPLAYS), help="offscreen, xvfb or both")
    parser.add_argument("--json", metavar="PATH", help="also write the figures there (for run_all.py)")
    parser.add_argument("--display", help=argparse.SUPPRESS)  # one display, in the child run
    parser.add_argument("--raw-json", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.display:
        app = make_application(offscreen=args.display == "offscreen")
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            headless_rate(args.preset, 20, folder, "warm-up")  # first-use costs (data, kernels) first
            result = measure_modes(
                args.repeats,
                lambda r: headless_rate(args.preset, args.steps, folder, str(r)),
                lambda mode, r: windowed_rate(
                    app, args.preset, args.steps, folder / f"{mode}{r}", args.switch_ms, mode
                ),
            )
        Path(args.raw_json).write_text(json.dumps(result))
        return
    own = ["--preset", args.preset, "--steps", str(args.steps), "--repeats", str(args.repeats)]
    results = run_displays(__file__, [*own, "--switch-ms", str(args.switch_ms)], args.displays.split(","))
    print_side_by_side(
        f"chaos preset {args.preset}, {args.steps} steps x {args.repeats}, "
        f"tab switch every {args.switch_ms} ms",
        results,
        digits=1,
    )
    figures = []
    for display, result in results.items():
        h = float(np.median(result["headless"]))
        for mode in MODES:
            w = float(np.median(result[mode]))
            figures.append(
                Figure(
                    f"chaos {args.preset} training in the window ({display}, compute {mode}), views live",
                    w, "steps/s", f"headless (thread + run file) {h:,.1f} steps/s", w / h, ">= 0.95",
                )
            )
            p50, p99, worst = result[f"stalls_{mode}"]
            figures.append(
                Figure(
                    f"GUI event-loop stall while chaos training ({display}, compute {mode}), p99",
                    p99, "ms", f"p50 {p50:.1f} ms, max {worst:.1f} ms", target="p99 < 20 ms, max < 100 ms",
                )
            )
    write_figures(args.json, figures)


if __name__ == "__main__":
    main()
