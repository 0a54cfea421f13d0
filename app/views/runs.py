"""Runs view: every run of the runs folder and the recent ones, one row each, sortable and filtered by
text; double click replays, several selected compare, and a run's settings start a new one.

The filter takes words: `layers=7` keeps runs whose setting named `layers` (or `model.layers`) is 7,
any other word keeps rows that contain it. The table follows runs being written: a timer (while the view
is shown) looks at the files' sizes and times and reads again only the ones that changed, and new files
in the runs folder.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QStandardItem, QStandardItemModel
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gkn_core.errors import GKNError
from gkn_core.families import family
from gkn_core.runs.reader import open_run
from gkn_core.runs.scalars import flatten

COLUMNS = ("kind", "preset", "settings", "status", "steps", "best", "date", "file")
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
PATH_ROLE = Qt.ItemDataRole.UserRole + 2
REFRESH_MS = 2000
MAX_FOLDER_RUNS = 500


@dataclass
class RunRow:
    path: Path
    cells: tuple[str, ...]  # the text of COLUMNS
    sort_keys: tuple[Any, ...]
    settings: dict[str, Any]  # flattened settings, for the filter


def _steps(run: Any) -> int:
    if "train/metrics" not in run.file:
        return 0
    steps = run.series("train/metrics", ("step",))["step"]
    return int(steps[-1]) if len(steps) else 0


def run_row(path: Path) -> RunRow:
    """One table row; a file that cannot be read says why instead."""
    try:
        mtime = path.stat().st_mtime
        with open_run(path) as run:
            summary = family(run.kind).get("summary")(run)
            steps = _steps(run)
            created = str(run.info.get("created", "")) or dt.datetime.fromtimestamp(mtime).isoformat()
            cells = (
                run.kind,
                str(run.config.preset),
                summary.settings,
                run.status,
                str(steps),
                summary.best,
                created[:19].replace("T", " "),
                path.name,
            )
            keys = (
                run.kind,
                str(run.config.preset),
                cells[2],
                run.status,
                steps,
                summary.best_key,
                created,
                path.name,
            )
            settings = flatten(json.loads(run.config.model_dump_json())) | {
                "kind": run.kind,
                "status": run.status,
            }
            return RunRow(path, cells, keys, settings)
    except (GKNError, OSError) as exc:
        reason = str(exc).replace(str(path), path.name)
        cells = ("?", "", "", f"unreadable: {reason}", "", "", "", path.name)
        return RunRow(path, cells, (*cells[:4], -1, float("inf"), "", path.name), {})


def row_matches(row_settings: dict[str, Any], texts: list[str], words: list[str]) -> bool:
    """The filter: every word is `key=value` matching a setting (by full or last dotted name), or text
    found in a cell."""
    for word in words:
        key, eq, value = word.partition("=")
        if eq:
            found = [v for k, v in row_settings.items() if k == key or k.split(".")[-1] == key]
            if not any(_same(v, value) for v in found):
                return False
        elif not any(word.lower() in text.lower() for text in texts):
            return False
    return True


def _same(setting: Any, text: str) -> bool:
    if isinstance(setting, bool):
        return str(setting).lower() == text.lower()
    if isinstance(setting, int | float):
        try:
            return float(setting) == float(text)
        except ValueError:
            return False
    return str(setting).lower() == text.lower()


class RunFilter(QSortFilterProxyModel):
    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self.rows: dict[str, RunRow] = {}
        self.setSortRole(SORT_ROLE)

    def set_text(self, text: str) -> None:
        self.words = text.split()
        self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        if not self.words:
            return True
        model = self.sourceModel()
        path = model.index(source_row, 0, source_parent).data(PATH_ROLE)
        row = self.rows.get(path)
        texts = [model.index(source_row, c, source_parent).data() or "" for c in range(model.columnCount())]
        return row_matches(row.settings if row else {}, texts, self.words)


class RunsView(QWidget):
    open_requested = pyqtSignal(str)
    compare_requested = pyqtSignal(str)  # beside the current run in the 1D view
    compare_selected = pyqtSignal(list)  # the Compare view, any number of runs
    train_again_requested = pyqtSignal(str)

    def __init__(self) -> None:
        super().__init__()
        self.model = QStandardItemModel(0, len(COLUMNS))
        self.model.setHorizontalHeaderLabels(COLUMNS)
        self.proxy = RunFilter()
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COLUMNS.index("date"), Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(
            COLUMNS.index("settings"), QHeaderView.ResizeMode.Stretch
        )
        self.table.verticalHeader().setVisible(False)
        self.table.doubleClicked.connect(lambda index: self._emit_one(self.open_requested, index))
        self.filter_box = QLineEdit()
        self.filter_box.setPlaceholderText("filter: words or settings, e.g. layers=7 kind=chaos")
        self.filter_box.setClearButtonEnabled(True)
        self.filter_box.textChanged.connect(self.proxy.set_text)
        self.open_button = QPushButton("Replay")
        self.open_button.setToolTip("Open the selected run and scrub through its steps (double click)")
        self.open_button.clicked.connect(lambda: self._emit_one(self.open_requested))
        self.compare_many_button = QPushButton("Compare selected")
        self.compare_many_button.setToolTip("Overlay the curves of the selected runs in the Compare view")
        self.compare_many_button.clicked.connect(lambda: self.compare_selected.emit(self.selected_paths()))
        self.compare_button = QPushButton("Beside current (1D)")
        self.compare_button.setToolTip("Show the selected 1D run beside the current one in the 1D view")
        self.compare_button.clicked.connect(lambda: self._emit_one(self.compare_requested))
        self.train_again_button = QPushButton("Train again with these settings")
        self.train_again_button.setToolTip("Start a new run with the selected run's settings")
        self.train_again_button.clicked.connect(lambda: self._emit_one(self.train_again_requested))
        buttons = QHBoxLayout()
        for button in (
            self.open_button,
            self.compare_many_button,
            self.compare_button,
            self.train_again_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch()
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter_box)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.folders: list[Path] = []
        self.recent: list[Path] = []
        self.stamps: dict[str, tuple[float, int]] = {}
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)

    # -- which runs ------------------------------------------------------------------------------
    def set_folder(self, folder: Path | None) -> None:
        self.set_folders([] if folder is None else [folder])

    def set_folders(self, folders: list[Path]) -> None:
        """The folders whose runs are listed (the runs folder, and the old one where it exists)."""
        self.folders = [Path(f) for f in folders]
        self.refresh()

    def show_runs(self, paths: list[str]) -> None:
        """The recent runs (listed with the runs folder's)."""
        self.recent = [Path(p) for p in paths]
        self.refresh()

    def listed_paths(self) -> list[Path]:
        paths = [p for p in self.recent if p.is_file()]
        for folder in self.folders:
            if folder.is_dir():
                inside = sorted(folder.glob("*.h5"), key=lambda p: p.stat().st_mtime, reverse=True)
                paths += inside[:MAX_FOLDER_RUNS]
        unique: dict[str, Path] = {}
        for path in paths:
            unique.setdefault(str(path.resolve()), path)
        return list(unique.values())

    def refresh(self) -> None:
        """Read the runs that are new or changed since the last look; drop those that are gone."""
        paths = self.listed_paths()
        wanted = {str(p.resolve()): p for p in paths}
        for row in reversed(range(self.model.rowCount())):
            key = self.model.item(row, 0).data(PATH_ROLE)
            if key not in wanted:
                self.model.removeRow(row)
                self.stamps.pop(key, None)
                self.proxy.rows.pop(key, None)
        rows_by_key = {self.model.item(r, 0).data(PATH_ROLE): r for r in range(self.model.rowCount())}
        for key, path in wanted.items():
            try:
                stat = path.stat()
            except OSError:
                continue
            stamp = (stat.st_mtime, stat.st_size)
            if self.stamps.get(key) == stamp:
                continue
            self.stamps[key] = stamp
            row = run_row(path)
            self.proxy.rows[key] = row
            items = []
            for text, sort_key in zip(row.cells, row.sort_keys, strict=True):
                item = QStandardItem(text)
                item.setData(sort_key, SORT_ROLE)
                item.setData(key, PATH_ROLE)
                item.setToolTip(str(path) if text == row.cells[-1] else text)
                items.append(item)
            if key in rows_by_key:
                for column, item in enumerate(items):
                    self.model.setItem(rows_by_key[key], column, item)
            else:
                self.model.appendRow(items)
        self.proxy.invalidate()
        self.table.resizeColumnsToContents()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()
        self.timer.start()

    def hideEvent(self, event) -> None:
        self.timer.stop()
        super().hideEvent(event)

    # -- what is selected ------------------------------------------------------------------------
    def row_paths(self) -> list[str]:
        """The paths of the rows shown, in the order shown (sorted and filtered)."""
        return [self.proxy.index(r, 0).data(PATH_ROLE) for r in range(self.proxy.rowCount())]

    def selected_paths(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.proxy.index(r, 0).data(PATH_ROLE) for r in rows]

    def select_rows(self, rows: list[int]) -> None:
        selection = self.table.selectionModel()
        selection.clearSelection()
        for row in rows:
            selection.select(
                self.proxy.index(row, 0),
                selection.SelectionFlag.Select | selection.SelectionFlag.Rows,
            )

    def _emit_one(self, signal, index: QModelIndex | None = None) -> None:
        if index is not None and index.isValid():
            signal.emit(self.proxy.index(index.row(), 0).data(PATH_ROLE))
            return
        paths = self.selected_paths()
        if paths:
            signal.emit(paths[0])

    def export_items(self) -> list:
        return []
