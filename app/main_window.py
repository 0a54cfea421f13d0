"""The main window: the shell that hosts the labs (GKN, chaos) and the views that know no family.

It builds one settings page, the tabs and the exports of every lab from the table in app/labs.py, and
hosts them through the small interface of app/host.py (messages, the run label, recent runs, the runs
folder); it owns the menus, the docks, the status bar, opening and dropping runs, and the redraw timer
(~30 fps) that asks the lab in front to draw. It computes no science itself, and knows no lab by name.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QSettings, Qt, QTimer
from PyQt6.QtGui import QAction, QKeySequence, QShortcut
from PyQt6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app import export as exports
from app import layout, run_actions
from app.animation import AnimationOptions, OptionsDialog
from app.follow import RunFollower
from app.host import ExportSpec
from app.lab import Lab
from app.labs import LABS, SHELL_VIEWS, VIEW_SPECS, VIEWS
from app.layout import DEFAULT_SIZE, app_settings, default_runs_dir, legacy_runs_dir
from app.teardown import close_scenes, stop_timers
from app.worker import stop_all
from gkn_core.errors import GKNError
from gkn_core.reproduce.report import CLAIMS_FILE
from gkn_core.runs.reader import open_run

__all__ = ["VIEWS", "MainWindow", "default_runs_dir"]

ANIMATIONS = "Animations (*.gif *.mp4)"
PLOT_EXPORT = ExportSpec("current plot (PNG or SVG)", "plot", "Figures (*.png *.svg)")
REDRAW_MS = 33  # about 30 fps: no screen needs more for these plots
MAX_RECENT = 12


class MainWindow(QMainWindow):
    """The LabHost of every lab. Each lab is also reachable as `window.<kind>` (window.gkn, ...)."""

    def __init__(self, runs_dir: Path | None = None, settings: QSettings | None = None) -> None:
        super().__init__()
        self.setWindowTitle("GKN Studio")
        self.setAcceptDrops(True)
        self.settings = settings if settings is not None else app_settings()
        self.runs_dir = Path(runs_dir) if runs_dir is not None else default_runs_dir()
        self.runs_dirs = [self.runs_dir]  # every folder whose runs are listed (the old one too)
        if runs_dir is None and legacy_runs_dir().is_dir():
            self.runs_dirs.append(legacy_runs_dir())
        self.last_error = ""

        self.labs: dict[str, Lab] = {entry.kind: entry.load()(self, self) for entry in LABS}
        for kind, lab in self.labs.items():
            setattr(self, kind, lab)
        self.owner = {name: lab for lab in self.labs.values() for name in lab.views}
        self.views = {name: view for lab in self.labs.values() for name, view in lab.views.items()}
        self.views.update({spec.name: spec.create() for spec in SHELL_VIEWS})
        self.exports = (PLOT_EXPORT, *(spec for lab in self.labs.values() for spec in lab.EXPORTS))

        # The dock shows the settings of the lab of the front view.
        self.settings_pages = QStackedWidget()
        for lab in self.labs.values():
            scroll = QScrollArea()
            scroll.setWidget(lab.controls)
            scroll.setWidgetResizable(True)
            self.settings_pages.addWidget(scroll)
        # The dock never gets narrower than its widest page: its controls are never cut.
        scroll_bar = self.style().pixelMetric(self.style().PixelMetric.PM_ScrollBarExtent)
        self.dock_min_width = max(lab.controls.minimumSizeHint().width() for lab in self.labs.values())
        self.dock_min_width += scroll_bar + 8
        self.settings_pages.setMinimumWidth(self.dock_min_width)
        self.dock = dock = QDockWidget("Settings", self)
        dock.setObjectName("settings-dock")
        dock.setWidget(self.settings_pages)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)

        self.tabs = QTabWidget()
        for spec in VIEW_SPECS:
            self.tabs.addTab(self.views[spec.name], spec.title)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.tabs, stretch=1)
        for lab in self.labs.values():  # a lab's bar under the tabs (the GKN replay sliders)
            if lab.footer is not None:
                layout.addWidget(lab.footer)
        self.setCentralWidget(central)

        labels = QLabel("device: -"), QLabel(""), QLabel("no run")
        self.device_label, self.rate_label, self.file_label = labels
        for label in (self.device_label, self.rate_label, self.file_label):
            self.statusBar().addPermanentWidget(label)
        self._build_menus()
        self.views["runs"].open_requested.connect(self.open_run_file)
        self.views["runs"].compare_requested.connect(self.compare_run_file)
        self.views["sweep"].run_requested.connect(self.open_run_file)
        self.views["claims"].run_requested.connect(self.open_run_file)
        run_actions.install(self)  # compare, train again, scalars, preset files, the Help menu
        self._show_front(VIEWS[self.tabs.currentIndex()])
        self.follower = RunFollower(self)  # re-reads a run another process is writing (app/follow.py)
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self.redraw)
        self.timer.start()
        self.default_state = self.saveState()
        self.resize(*DEFAULT_SIZE)
        self.layout_restored = self.restore_layout()
        self.views["runs"].show_runs(self.recent_runs())

    # -- set-up -----------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for text, key, slot in (
            ("&Open run...", QKeySequence.StandardKey.Open, self.open_run_dialog),
            ("Open s&weep folder...", QKeySequence("Ctrl+Shift+O"), self.open_sweep_dialog),
            ("Open re&port folder...", QKeySequence("Ctrl+Shift+R"), self.open_report_dialog),
            ("&Save run as...", QKeySequence.StandardKey.Save, self.save_run_dialog),
            ("&Export...", QKeySequence("Ctrl+E"), self.export_dialog),
        ):
            action = QAction(text, self)
            action.setShortcut(key)
            action.triggered.connect(slot)
            file_menu.addAction(action)
        self.recent_menu = file_menu.addMenu("Recent runs")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu("&View")
        for index in range(len(VIEWS)):
            action = QAction(self.tabs.tabText(index), self)
            action.setShortcut(QKeySequence(f"Ctrl+{index + 1}"))
            action.triggered.connect(lambda _=False, i=index: self.tabs.setCurrentIndex(i))
            view_menu.addAction(action)
        view_menu.addSeparator()
        reset = QAction("&Reset layout", self)
        reset.triggered.connect(self.reset_layout)
        view_menu.addAction(reset)
        space = QShortcut(QKeySequence(Qt.Key.Key_Space), self)
        space.activated.connect(self.toggle_play)

    # -- layout (app/layout.py) -------------------------------------------------------------------
    def restore_layout(self) -> bool:
        return layout.restore_layout(self)

    def reset_layout(self) -> None:
        """View > Reset layout."""
        layout.reset_layout(self)

    # -- the host of the labs (app/host.py) -------------------------------------------------------
    def show_error(self, message: str) -> None:
        """One line in a dialog that does not block the window (nor a test)."""
        self.last_error = message
        self.statusBar().showMessage(message, 10_000)
        box = QMessageBox(QMessageBox.Icon.Warning, "GKN Studio", message, parent=self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def confirm(self, question: str) -> bool:
        answer = QMessageBox.question(self, "GKN Studio", question)
        return answer == QMessageBox.StandardButton.Yes

    def show_status(self, message: str, timeout_ms: int = 5000) -> None:
        self.statusBar().showMessage(message, timeout_ms)

    def set_run_label(self, text: str) -> None:
        self.file_label.setText(text)

    def set_device_label(self, device: str) -> None:
        self.device_label.setText(f"device: {device}")

    def refresh_runs(self) -> None:
        self.views["runs"].show_runs(self.recent_runs())

    # -- the lab in front -------------------------------------------------------------------------
    def front_view(self) -> str:
        return VIEWS[self.tabs.currentIndex()]

    def front_lab(self) -> Lab:
        """The lab of the front view; on the window's own views, the first lab."""
        return self.owner.get(self.front_view()) or next(iter(self.labs.values()))

    def show_view(self, name: str) -> None:
        self.tabs.setCurrentIndex(VIEWS.index(name))

    def toggle_play(self) -> None:
        """Space: the front lab's job (GKN: sampling if it is alive, else training)."""
        self.front_lab().toggle_play()

    def redraw(self, force: bool = False) -> None:
        name = self.front_view()
        lab = self.owner.get(name)
        if lab is None:  # tables and sweeps: no live state to render
            return
        lab.render(name, force)
        self.rate_label.setText(f"{lab.steps_per_second:,.0f} steps/s")

    def _show_front(self, name: str) -> None:
        lab = self.owner.get(name)
        if lab is not None:
            self.settings_pages.setCurrentIndex(list(self.labs.values()).index(lab))
        self.file_label.setText((lab or self.front_lab()).run_label)  # the run of the lab in front
        for other in self.labs.values():
            if other.footer is not None:
                other.footer.setVisible(other is lab)
            other.set_front(name)

    def _on_tab_changed(self, index: int) -> None:
        self._show_front(VIEWS[index])
        self.redraw(force=True)

    # -- runs -------------------------------------------------------------------------------------
    def recent_runs(self) -> list[str]:
        """The recent runs, then those of the old runs folder not among them (they stay listed)."""
        value = self.settings.value("recent_runs", [])
        runs = [value] if isinstance(value, str) else list(value or [])
        for folder in self.runs_dirs[1:]:
            old = sorted(folder.glob("*.h5"), key=lambda p: p.stat().st_mtime, reverse=True)
            runs += [str(p) for p in old if str(p) not in runs]
        return runs

    def remember_run(self, path: Path) -> None:
        runs = [str(path)] + [p for p in self.recent_runs() if p != str(path)]
        self.settings.setValue("recent_runs", runs[:MAX_RECENT])
        self.views["runs"].show_runs(runs[:MAX_RECENT])

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_runs():
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_run_file(p))

    def open_run_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open run", str(self.runs_dir), "Run files (*.h5);;All (*)"
        )
        if path:
            self.open_run_file(path)

    def open_sweep_dialog(self) -> None:
        self._choose_folder("Open a sweep folder", self.open_sweep_folder)

    def open_sweep_folder(self, path: str | Path) -> bool:
        """Compare the runs of a `gkn sweep` folder: any end metric against any swept field."""
        return self.show_filled("sweep", lambda view: view.open_folder(path))

    def open_report_dialog(self) -> None:
        self._choose_folder("Open a gkn reproduce report", self.open_report_folder)

    def open_report_folder(self, path: str | Path) -> bool:
        """Show a `gkn reproduce` report: each claim's verdict, numbers, figure and runs."""
        return self.show_filled("claims", lambda view: view.open_folder(path))

    def show_filled(self, name: str, fill: Callable[[Any], object]) -> bool:
        """Fill the view `name` (`fill(view)`; a GKNError is shown as one line) and bring it to front."""
        try:
            fill(self.views[name])
        except GKNError as exc:
            self.show_error(str(exc))
            return False
        self.show_view(name)
        return True

    def _choose_folder(self, title: str, then: Callable[[str], object]) -> None:
        path = QFileDialog.getExistingDirectory(self, title, str(self.runs_dir))
        if path:
            then(path)

    def _lab_for(self, kind: str, path: Path) -> Lab:
        if kind not in self.labs:
            raise GKNError(f"{path} is a {kind} run; this window shows {' and '.join(self.labs)} runs")
        return self.labs[kind]

    def open_run_file(self, path: str | Path) -> bool:
        """Replay a run in the lab of its kind: its views show it, and their sliders scrub it.
        A folder is a reproduction report when it holds claims.json, a sweep folder when it holds
        sweep.json (or no runs), else a folder of runs to compare."""
        path = Path(path)
        if path.is_dir():
            if (path / CLAIMS_FILE).is_file():
                return self.open_report_folder(path)
            if (path / "sweep.json").exists() or not any(path.glob("*.h5")):
                return self.open_sweep_folder(path)
            return run_actions.compare_runs(self, [path])  # a folder of runs: compare them
        try:
            with open_run(path) as run:
                lab = self._lab_for(run.kind, path)
                replay = lab.read_replay(run)
            view = lab.replay(path, replay)
            self.follower.follow(path, lab)
        except GKNError as exc:
            self.show_error(str(exc))
            return False
        self.remember_run(path)
        self.show_view(view)
        self.redraw(force=True)
        return True

    def compare_run_file(self, path: str | Path) -> bool:
        path = Path(path)
        try:
            with open_run(path) as run:
                view = self._lab_for(run.kind, path).compare_run(run, path)
        except GKNError as exc:
            self.show_error(str(exc))
            return False
        self.show_view(view)
        return True

    def save_run_dialog(self) -> None:
        run_path = self.front_lab().run_path
        if run_path is None:
            self.show_error("no run to save yet")
            return
        target, _ = QFileDialog.getSaveFileName(self, "Save run as", run_path.name, "Run files (*.h5)")
        if target:
            try:
                shutil.copyfile(run_path, target)
            except OSError as exc:
                self.show_error(f"cannot save {target}: {exc.strerror or exc}")

    def offered_exports(self) -> list[ExportSpec]:
        """The front plot, and the exports of the front view's lab that fit its run."""
        lab = self.owner.get(self.front_view())
        return [PLOT_EXPORT, *(lab.available_exports() if lab is not None else ())]

    def export_dialog(self) -> None:
        offered = self.offered_exports()
        labels = [spec.label for spec in offered]
        label, ok = QInputDialog.getItem(self, "Export", "What to export", labels, 0, False)
        if not ok:
            return
        spec = offered[labels.index(label)]
        options = None
        if spec.file_filter == ANIMATIONS:
            dialog = OptionsDialog(self, AnimationOptions())
            if not dialog.exec():
                return
            options = dialog.options()
        suggested = layout.export_folder(self) / layout.export_name(self.front_lab().run_path, spec)
        path, _ = QFileDialog.getSaveFileName(self, "Export to", str(suggested), spec.file_filter)
        if path:
            self.settings.setValue("export_dir", str(Path(path).parent))  # remembered
            self.export(spec.what, Path(path), options)

    def export(self, what: str, path: Path, options: AnimationOptions | None = None) -> bool:
        """Write an export (the front plot, or one of a lab's); a bad target gets a dialog, never an
        exception."""
        try:
            if what == PLOT_EXPORT.what:
                items = self.tabs.currentWidget().export_items()
                if not items:
                    raise GKNError("this view has no plot to export")
                exports.export_plot(items[0], path)
            else:
                lab = next((lab for lab in self.labs.values() for s in lab.EXPORTS if s.what == what), None)
                if lab is None:
                    raise GKNError(f"no export {what!r}")
                lab.export(what, path, options)
        except (GKNError, OSError) as exc:
            self.show_error(str(exc))
            return False
        return True

    # -- drag and drop, closing -------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            self.open_run_file(url.toLocalFile())
            break

    def closeEvent(self, event) -> None:
        stop_all([lab.workers for lab in self.labs.values()])  # every lab's threads, one deadline
        stop_timers(self)  # those the jobs' last events started too: none fires on a closed window
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("window_state", self.saveState())
        self.settings.setValue("dock_width", self.dock.width())
        close_scenes(self)  # torn down now, in order, not item by item when Qt deletes the window
        super().closeEvent(event)
