"""App tests run offscreen; every test fails if a compute thread is left running."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest

pytest.importorskip("PyQt6")

import pyqtgraph as pg
from PyQt6.QtCore import QSettings

from app.main_window import MainWindow
from app.worker import running_threads

pg.setConfigOptions(imageAxisOrder="row-major")


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(runs_dir=tmp_path / "runs", settings=settings)
    win.confirm = lambda question: True  # dialogs that ask are answered yes
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
    assert not running_threads(), "a compute thread outlived its window"
