"""A monkey in the window (issue #17.7): random clicks, drags, key presses, tab switches, slider moves,
file opens (bad files too), resizes, while training and sampling run. Seeded and replayable:

    GKN_MONKEY_SEED=1234 pytest tests/gui/test_monkey.py -s      # replay one seed (printed on failure)
    GKN_MONKEY_SECONDS=20 ...                                    # a shorter (or longer) run

A budget of time, not of actions: 1 minute in the default run, 10 minutes with --full; a slow machine
runs fewer actions, and no assertion depends on how many ran. The same seed gives the same sequence
of actions (a replay runs it again as far as its budget reaches). Asserts: no exception reaches
sys.excepthook, threading.excepthook or a Qt callback, no critical Qt message, every dialog shown is one
line, and no compute thread outlives the window.

Every modal thing a click opens is answered where all of them pass through: the Show event of a
popup menu or a modal window (Answerer below). A QMenu.exec from a tool button's menu, a QDialog.exec,
QMessageBox/QInputDialog/QProgressDialog/QColorDialog, each runs its own event loop inside the click;
the answer is queued on that loop and ends it. (Seed 1657636735 blocked before this: the Compare
view's "metrics" button opens its QMenu with exec, inside QAbstractButton.click.)
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time

import pytest
from helpers.waiting import process_events, qt_wait_until

from app.worker import running_threads
from gkn_core.gkn.config import preset_config
from gkn_core.gkn.sessions import sampling_session, training_session

FULL = os.environ.get("GKN_FULL", "") not in ("", "0")
SECONDS = float(os.environ.get("GKN_MONKEY_SECONDS", 600 if FULL else 60))
SEED = int(os.environ.get("GKN_MONKEY_SEED", random.SystemRandom().randrange(2**31)))
KEYS = ["Space", "Left", "Right", "Up", "Down", "Tab", "Escape", "Return", "1", "5", "a"]


@pytest.fixture
def files(tmp_path):
    good = tmp_path / "good.h5"
    list(training_session(preset_config("1d", {"train": {"steps": 40, "checkpoint_every": 20}}), good)[1])
    list(sampling_session(good, {"chains": 3, "steps": 5, "burn_in": 1})[1])
    text = tmp_path / "text.h5"
    text.write_text("not a run file\n")
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    folder = tmp_path / "folder"
    folder.mkdir()
    return [good, text, truncated, folder, tmp_path / "missing.h5"]


@pytest.fixture
def quiet_dialogs(monkeypatch):
    """The file dialogs answer "cancel" at once (built for real, each would scan a folder from a
    thread of its own); every other modal kind is built, shown and answered (Answerer)."""
    from PyQt6.QtWidgets import QFileDialog

    for name in ("getOpenFileName", "getSaveFileName"):
        monkeypatch.setattr(QFileDialog, name, staticmethod(lambda *a, **k: ("", "")))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: ""))


class Answerer:
    """An application-wide event filter: when a menu or a modal window is shown, an answer is queued
    (a random item of the menu, or none; the dialog rejected). Queued with a zero timer, it runs in
    the nested event loop that exec() started, and ends it. Counts what it answered, by class."""

    def __init__(self, seed: int) -> None:
        from PyQt6.QtCore import QObject

        outer = self

        class Filter(QObject):
            def eventFilter(self, watched, event):
                outer.shown(watched, event)
                return False

        self.rng = random.Random(seed ^ 0x5EED)  # its own stream: the monkey's is left as it was
        self.answered: dict[str, int] = {}
        self.filter = Filter()

    def shown(self, widget, event) -> None:
        from PyQt6.QtCore import QEvent, Qt, QTimer
        from PyQt6.QtWidgets import QMenu, QWidget

        if event.type() != QEvent.Type.Show or not isinstance(widget, QWidget) or not widget.isWindow():
            return
        if isinstance(widget, QMenu):
            actions = [
                a for a in widget.actions() if a.isEnabled() and not a.isSeparator() and a.menu() is None
            ]
            choice = self.rng.choice(actions) if actions and self.rng.random() < 0.7 else None
            QTimer.singleShot(0, lambda: self.answer_menu(widget, choice))
        elif widget.isModal() or widget.windowModality() != Qt.WindowModality.NonModal:
            QTimer.singleShot(0, lambda: self.answer_modal(widget))

    def count(self, widget) -> None:
        name = type(widget).__name__
        self.answered[name] = self.answered.get(name, 0) + 1

    def answer_menu(self, menu, choice) -> None:
        from PyQt6 import sip

        if sip.isdeleted(menu) or not menu.isVisible():
            return
        self.count(menu)
        if choice is not None and not sip.isdeleted(choice):
            menu.setActiveAction(choice)
            choice.trigger()  # as a click on the item would: its slots run, then the menu closes
        menu.close()

    def answer_modal(self, widget) -> None:
        from PyQt6 import sip
        from PyQt6.QtWidgets import QDialog

        if sip.isdeleted(widget) or not widget.isVisible():
            return
        self.count(widget)
        if isinstance(widget, QDialog):
            widget.reject()  # QMessageBox: its escape button; QProgressDialog: cancel
        else:
            widget.close()

    def __enter__(self) -> Answerer:
        from PyQt6.QtWidgets import QApplication

        QApplication.instance().installEventFilter(self.filter)
        return self

    def __exit__(self, *exc) -> None:
        from PyQt6.QtWidgets import QApplication

        QApplication.instance().removeEventFilter(self.filter)


@pytest.fixture
def troubles(monkeypatch):
    """Exceptions that reach sys.excepthook (a Qt slot's too) or threading.excepthook, and Qt's
    critical and fatal messages."""
    from PyQt6.QtCore import QtMsgType, qInstallMessageHandler

    caught: list[str] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, value, tb: caught.append(f"{kind.__name__}: {value}"))
    monkeypatch.setattr(
        threading,
        "excepthook",
        lambda args: caught.append(f"thread {args.thread}: {args.exc_type.__name__}: {args.exc_value}"),
    )
    serious = (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)
    previous = qInstallMessageHandler(
        lambda mode, context, message: caught.append(f"Qt: {message}") if mode in serious else None
    )
    yield caught
    qInstallMessageHandler(previous)


class Monkey:
    def __init__(self, window, qtbot, files, seed: int) -> None:
        self.window, self.qtbot, self.files = window, qtbot, files
        self.rng = random.Random(seed)
        self.counts: dict[str, int] = {}

    def point(self, widget):
        from PyQt6.QtCore import QPoint

        return QPoint(self.rng.randrange(max(1, widget.width())), self.rng.randrange(max(1, widget.height())))

    def visible_widgets(self, kind):
        return [w for w in self.window.findChildren(kind) if w.isVisible() and w.isEnabled()]

    def act(self) -> None:
        from PyQt6.QtCore import Qt
        from PyQt6.QtGui import QKeySequence
        from PyQt6.QtTest import QTest
        from PyQt6.QtWidgets import QAbstractButton, QAbstractSlider, QWidget

        w, rng = self.window, self.rng
        action = rng.choices(
            ["click", "button", "drag", "key", "tab", "slider", "open", "resize", "train", "sample"],
            weights=[20, 15, 8, 12, 10, 12, 5, 4, 2, 3],
        )[0]
        self.counts[action] = self.counts.get(action, 0) + 1
        if action == "click":
            widgets = self.visible_widgets(QWidget)
            target = rng.choice(widgets)
            QTest.mouseClick(target, Qt.MouseButton.LeftButton, pos=self.point(target))
        elif action == "button":
            buttons = self.visible_widgets(QAbstractButton)
            buttons = [b for b in buttons if b.text() != "Reset" or rng.random() < 0.2]
            if buttons:
                rng.choice(buttons).click()
        elif action == "drag":
            target = w.tabs.currentWidget()
            start, end = self.point(target), self.point(target)
            QTest.mousePress(target, Qt.MouseButton.LeftButton, pos=start)
            QTest.mouseMove(target, end)
            QTest.mouseRelease(target, Qt.MouseButton.LeftButton, pos=end)
        elif action == "key":
            key = rng.choice(KEYS + [f"Ctrl+{i}" for i in range(1, w.tabs.count() + 1)])
            sequence = QKeySequence(key)[0]
            QTest.keyClick(w.focusWidget() or w, sequence.key(), sequence.keyboardModifiers())
        elif action == "tab":
            w.tabs.setCurrentIndex(rng.randrange(w.tabs.count()))
        elif action == "slider":
            sliders = self.visible_widgets(QAbstractSlider)
            if sliders:
                slider = rng.choice(sliders)
                slider.setValue(rng.randint(int(slider.minimum()), int(slider.maximum())))
        elif action == "open":
            w.open_run_file(rng.choice(self.files))
        elif action == "resize":
            w.resize(rng.randint(500, 1600), rng.randint(400, 1000))
        elif action == "train":
            w.gkn.train_play()
        else:
            w.gkn.sample_play()

    def tidy(self) -> None:
        """Close what a click opened (a combo box's list, a menu, the one-line error boxes)."""
        from PyQt6.QtWidgets import QApplication, QMessageBox

        while (popup := QApplication.activePopupWidget()) is not None:
            popup.close()
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QMessageBox) and widget.isVisible():
                widget.close()


@pytest.mark.timeout(SECONDS + 900)  # the budget, then a hang guard
def test_a_monkey_in_the_window_while_training_and_sampling(
    window, qtbot, files, quiet_dialogs, troubles, capsys
):
    with capsys.disabled():
        print(f"\nmonkey seed {SEED} ({SECONDS:.0f} s of actions): GKN_MONKEY_SEED={SEED} replays it")
    errors: list[str] = []
    show_error = window.show_error
    window.show_error = lambda message: (errors.append(message), show_error(message))
    window.gkn.controls.preset.setCurrentText("1d")
    window.gkn.controls.train_steps.setValue(window.gkn.controls.train_steps.maximum())
    window.gkn.train_play()
    qt_wait_until(qtbot, lambda: window.gkn.state.version > 0)
    window.gkn.sample_play()  # training ends with its checkpoint; the monkey starts both again
    monkey = Monkey(window, qtbot, files, SEED)
    with Answerer(SEED) as answerer:
        end, index = time.monotonic() + SECONDS, 0
        while time.monotonic() < end:
            monkey.act()
            process_events(qtbot, rounds=1)
            monkey.tidy()
            assert window.isVisible(), f"seed {SEED}, action {index}: the window closed"
            assert not troubles, f"seed {SEED}, action {index} ({monkey.counts}): {troubles[:3]}"
            index += 1
    with capsys.disabled():
        print(f"monkey seed {SEED}: {index} actions {monkey.counts}, {len(errors)} error dialogs")
        print(f"monkey seed {SEED}: answered {answerer.answered}")
    assert all("\n" not in message and message for message in errors), [e for e in errors if "\n" in e][:3]
    window.close()
    process_events(qtbot)
    assert not running_threads(), f"seed {SEED}: a compute thread outlived the window"
    assert not troubles, troubles[:3]
