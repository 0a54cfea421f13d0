"""`gkn app`: start the desktop window, or render one view to a PNG (screenshot mode)."""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from pathlib import Path

from app.labs import VIEWS, kind_of_view
from app.screenshot import save_screenshot
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
    # Each lab prepares its own pictures: app/<kind>/screenshot.py, found by the same convention as
    # its lab and views (the shell's views fall to the GKN lab, which trains the model they list).
    prepare = importlib.import_module(f"app.{kind}.screenshot").prepare
    prepare(app, window, view, run_file is not None, train_steps is not None)
    return save_screenshot(app, window, Path(screenshot))
