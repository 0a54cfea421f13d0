"""Where the window keeps its things and how its layout comes back.

The data folder is the platform's once, without spaces (~/.local/share/gkn-studio/runs); the runs of
old versions (~/.local/share/GKN Studio/GKN Studio/runs) stay listed. A saved layout is restored only
where it is usable (the settings dock at least its minimum width, the window on a screen), else the
default one; View > Reset layout brings the default back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PyQt6.QtCore import QSettings, QStandardPaths, Qt
from PyQt6.QtGui import QGuiApplication

APP_ID = "gkn-studio"  # the data folder and settings name: once, no spaces
LEGACY_NAME = "GKN Studio"  # the names of old versions: ~/.local/share/GKN Studio/GKN Studio/runs
DEFAULT_SIZE = (1400, 860)


def _data_home() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    return Path(base) if base else Path.home() / ".local" / "share"


def default_runs_dir() -> Path:
    """~/.local/share/gkn-studio/runs (the platform's data folder, the name once)."""
    return _data_home() / APP_ID / "runs"


def legacy_runs_dir() -> Path:
    """Where old versions wrote runs; their runs stay listed."""
    return _data_home() / LEGACY_NAME / LEGACY_NAME / "runs"


def app_settings() -> QSettings:
    """The window's settings (gkn-studio); the recent runs of the old "GKN Studio" ones come along."""
    settings = QSettings(APP_ID, APP_ID)
    if settings.value("recent_runs") is None:
        old = QSettings(LEGACY_NAME, LEGACY_NAME).value("recent_runs")
        if old:
            settings.setValue("recent_runs", old)
    return settings


def restore_layout(window: Any) -> bool:
    """The saved geometry and docks, only where they are usable: the settings dock at least its
    minimum width and the window on a screen; otherwise the default layout."""
    geometry, state = window.settings.value("geometry"), window.settings.value("window_state")
    dock_width = int(window.settings.value("dock_width", 0) or 0)
    if geometry is None or state is None or dock_width < window.dock_min_width:
        return False
    if not window.restoreGeometry(geometry) or not on_screen(window) or not window.restoreState(state):
        reset_layout(window)
        return False
    if window.dock.isFloating() or not window.dock.isVisibleTo(window):
        reset_layout(window)
        return False
    return True


def on_screen(window: Any) -> bool:
    frame = window.frameGeometry()
    screens = [screen.availableGeometry() for screen in QGuiApplication.screens()]
    return any(area.intersected(frame).width() >= 200 and area.intersected(frame).height() >= 150
               for area in screens)  # fmt: skip


def reset_layout(window: Any) -> None:
    """View > Reset layout: the settings dock on the left at its usual width, the default size."""
    window.restoreState(window.default_state)
    window.dock.setFloating(False)
    window.dock.show()
    if window.isMaximized():
        window.showNormal()
    window.resize(*DEFAULT_SIZE)
    window.resizeDocks([window.dock], [max(window.dock_min_width, 330)], Qt.Orientation.Horizontal)


def export_folder(window: Any) -> Path:
    """The folder of the last export (QSettings), else the runs folder."""
    folder = window.settings.value("export_dir")
    return Path(folder) if folder and Path(folder).is_dir() else window.runs_dir


def export_name(run_path: Path | None, spec: Any) -> str:
    """A file name from the run and the export: 'digits8-L4-20250101-...-grid.png'."""
    suffix = spec.file_filter.partition("*")[2].split()[0].rstrip(")")
    return f"{run_path.stem if run_path else 'gkn'}-{spec.what}{suffix}"
