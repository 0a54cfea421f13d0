"""Many replay windows in one process (issue #17.4): pyqtgraph once crashed the process ("LabelItem
resize: QGraphicsTextItem has been deleted", then a segfault) with 15-30 replay windows opened one
after the other. Each window here replays a run file, is shown, drawn in every view, closed and deleted;
the process must live through them all, with no Qt warning about deleted items.
"""

from __future__ import annotations

import gc
import os

import pytest
from helpers.waiting import process_events

from app.main_window import VIEWS, MainWindow
from app.worker import running_threads
from gkn_core.gkn.config import preset_config
from gkn_core.gkn.sessions import sampling_session, training_session

# About 2 s a window on a busy 2-core machine: 30 in the default run, 100 (the count) in --full.
WINDOWS = 100 if os.environ.get("GKN_FULL", "") not in ("", "0") else 30


@pytest.fixture(scope="module")
def replay_runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("replays")
    runs = []
    for preset in ("1d", "2d"):
        path = folder / f"{preset}.h5"
        config = preset_config(preset, {"train": {"steps": 60, "manifold_every": 20, "checkpoint_every": 30}})
        list(training_session(config, path)[1])
        list(sampling_session(path, {"chains": 4, "steps": 6, "burn_in": 1})[1])
        runs.append(path)
    return runs


@pytest.fixture
def qt_messages():
    """Qt's warnings while the test runs (pyqtgraph's 'has been deleted' comes through here too)."""
    from PyQt6.QtCore import qInstallMessageHandler

    messages: list[str] = []
    previous = qInstallMessageHandler(lambda mode, context, message: messages.append(message))
    yield messages
    qInstallMessageHandler(previous)


@pytest.mark.timeout(600)
def test_a_hundred_replay_windows_open_draw_close_and_delete(qtbot, tmp_path, replay_runs, qt_messages):
    from PyQt6.QtCore import QSettings, QTimer

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    for index in range(WINDOWS):
        window = MainWindow(runs_dir=tmp_path / "runs", settings=settings)
        window.show()
        assert window.open_run_file(replay_runs[index % len(replay_runs)]), window.last_error
        for view in VIEWS[index % 3 :: 3]:  # every view drawn over the windows, three at a time
            window.show_view(view)
            window.resize(900 + 7 * (index % 20), 600 + 5 * (index % 15))
            window.redraw(force=True)
            process_events(qtbot, rounds=1)
        if index % 5 == 0:  # a throttled restart pending as the window closes (a g slider just moved)
            window.show_view("dynamics")
            window.chaos.dynamics_view.g_slider.setValue(window.chaos.dynamics_view.g_slider.value() + 1)
        window.close()
        assert not [t for t in window.findChildren(QTimer) if t.isActive()], "a timer outlived its window"
        window.deleteLater()
        del window
        if index % 7 == 0:
            gc.collect()  # Python's collector and Qt's deferred deletes in both orders
        process_events(qtbot, rounds=2)
    gc.collect()
    process_events(qtbot)
    assert not running_threads()
    deleted = [m for m in qt_messages if "deleted" in m.lower()]
    assert not deleted, deleted[:5]
