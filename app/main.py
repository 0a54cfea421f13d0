"""`gkn app`: start the desktop window, or render one view to a PNG (screenshot mode)."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from app.labs import VIEWS, kind_of_view
from gkn_core.errors import GKNError

VIEW_CHOICES = VIEWS  # the tabs of app/labs.py, in their order


def make_application(offscreen: bool, pictures: bool = False):
    if offscreen:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    import pyqtgraph as pg
    from PyQt6.QtWidgets import QApplication

    # Antialiasing makes pictures nicer and live frames several times dearer: pictures only.
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=pictures, background="w", foreground="k")
    import torch

    # Leave a core to the GUI thread: torch's spinning intra-op threads would otherwise starve it
    # (and be starved by it), which slows small models many times over on a 2-core machine.
    torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
    app = QApplication.instance() or QApplication(sys.argv[:1])
    # "gkn-studio" once, no spaces: the data folder is ~/.local/share/gkn-studio (app/main_window.py)
    app.setOrganizationName("")
    app.setApplicationName("gkn-studio")
    app.setApplicationDisplayName("GKN Studio")
    return app


def wait_until(app, done, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        app.processEvents()
        time.sleep(0.005)
    return True


def run_app(
    run_file: Path | list[Path] | None = None,
    preset: str | None = None,
    view: str | None = None,
    train_steps: int | None = None,
    sample_steps: int | None = None,
    screenshot: Path | None = None,
    runs_dir: Path | None = None,
) -> int:
    if view is not None and view not in VIEW_CHOICES:
        raise GKNError(f"--view: {view!r} is not one of {', '.join(VIEW_CHOICES)}")
    if screenshot is not None and not Path(screenshot).parent.exists():
        raise GKNError(f"--screenshot: folder {Path(screenshot).parent} does not exist")
    app = make_application(offscreen=screenshot is not None, pictures=screenshot is not None)
    from PyQt6.QtCore import QSettings

    from app.main_window import MainWindow

    settings = None
    if screenshot is not None:  # a screenshot never reads or changes the user's window settings
        scratch = tempfile.mkdtemp(prefix="gkn-screenshot-")
        settings = QSettings(str(Path(scratch) / "settings.ini"), QSettings.Format.IniFormat)
        runs_dir = runs_dir or Path(scratch) / "runs"
    window = MainWindow(runs_dir=runs_dir, settings=settings)
    if screenshot is not None:
        window.resize(1400, 860)
    # --preset and --train-steps are the settings of the lab of the view (GKN for the window's own).
    kind = (kind_of_view(view) if view else None) or "gkn"
    controls = window.labs[kind].controls
    if preset is not None:
        controls.preset.setCurrentText(preset)
        if controls.preset.currentText() != preset:
            raise GKNError(f"--preset: unknown preset {preset!r}")
    if train_steps is not None:
        controls.train_steps.setValue(train_steps)
    if sample_steps is not None:
        window.gkn.controls.sample_steps.setValue(sample_steps)
    if view is not None:
        window.show_view(view)
    window.show()
    files = [run_file] if isinstance(run_file, str | Path) else list(run_file or [])
    if len(files) > 1:
        from app import run_actions

        if not run_actions.compare_runs(window, files):
            raise GKNError(window.last_error)
    elif files and not window.open_run_file(files[0]):
        raise GKNError(window.last_error)
    run_file = files[0] if files else None
    if screenshot is None:
        return app.exec()
    if kind == "chaos":
        # The chaos view always trains; the dynamics and Lyapunov views study the untrained
        # network of the settings unless --train-steps asks for a trained one.
        train = run_file is None and (view == "chaos" or train_steps is not None)
        return take_chaos_screenshot(app, window, view, train, Path(screenshot))
    train = run_file is None and view not in ("sweep", "claims")  # they show the folder given, or nothing
    return take_screenshot(app, window, view or "1d", train, Path(screenshot))


def take_screenshot(app, window, view: str, train: bool, path: Path) -> int:
    """Train (and sample where the view shows chains), then render the window to a PNG."""
    lab = window.gkn
    if train:
        if view == "1d" and lab.state.dim <= 1:  # the depth effect at a glance: a shallow twin beside it
            lab.start_twin(2)
        lab.train_play()
        if window.last_error or not wait_until(app, lambda: lab.train_thread.finished, 600):
            raise GKNError(window.last_error or "training did not finish within 10 minutes")
        if lab.twin_thread is not None:
            wait_until(app, lambda: lab.twin_thread.finished, 600)
        if view in ("1d", "2d", "kaleidoscope"):
            lab.sample_play()
            if window.last_error or not wait_until(app, lambda: lab.sample_thread.finished, 600):
                raise GKNError(window.last_error or "sampling did not finish within 10 minutes")
        if view == "2d":
            window.views["2d"].basins_box.setChecked(False)
    window.show_view(view)
    wait_until(app, lambda: False, 0.3)  # let the views draw what arrived
    window.redraw(force=True)
    if view == "kaleidoscope" and lab.state.chains and lab.state.image_shape:
        window.views["kaleidoscope"].select_chain(0)  # show a chain's strip of generations too
    app.processEvents()
    window.views["runs"].show_runs(window.recent_runs())
    if not window.grab().save(str(path)):
        raise GKNError(f"cannot write {path}")
    window.close()
    return 0


def take_chaos_screenshot(app, window, view: str, train: bool, path: Path) -> int:
    """Train the chaos model (when asked), compute what the view shows, then render the window."""
    lab = window.chaos
    if train:
        lab.train_play()
        if window.last_error or not wait_until(app, lambda: lab.train_thread.finished, 600):
            raise GKNError(window.last_error or "chaos training did not finish within 10 minutes")
    if view in ("dynamics", "lyapunov"):
        lab.dynamics_view.set_settings(source="trained" if lab.run_path is not None else "untrained")
        lab.restart_dynamics(lab.dynamics_view.settings())
        if window.last_error or not wait_until(app, lambda: lab.dynamics_thread.finished, 600):
            raise GKNError(window.last_error or "the trajectories did not finish within 10 minutes")
    if view == "lyapunov":
        lab.start_lyapunov(lab.lyapunov_view.settings())
        if window.last_error or not wait_until(app, lambda: lab.lyapunov_thread.finished, 600):
            raise GKNError(window.last_error or "the Lyapunov analysis did not finish within 10 minutes")
    window.show_view(view)
    wait_until(app, lambda: False, 0.3)
    window.redraw(force=True)
    app.processEvents()
    if not window.grab().save(str(path)):
        raise GKNError(f"cannot write {path}")
    window.close()
    return 0
