"""Runs view: recent run files, what each holds, and buttons to replay or compare one."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gkn_core.errors import GKNError
from gkn_core.runs.reader import open_run

COLUMNS = ("run file", "kind", "status", "preset", "model", "steps", "samplings", "created")


def describe_model(model: object) -> str:
    """A few words on the network of a run's settings (GKN or chaotic RNN)."""
    if hasattr(model, "layers"):
        return f"L={model.layers} H={model.hidden}"
    if hasattr(model, "arch"):
        return f"{model.arch} Nh={model.Nh} g={model.g:g}"
    return ""


def run_summary(path: Path) -> tuple[str, ...]:
    """One table row; a file that cannot be read says why instead."""
    try:
        with open_run(path) as run:
            metrics = run.train_metrics()
            steps = int(metrics["step"][-1]) if metrics and len(metrics["step"]) else 0
            described = describe_model(getattr(run.config, "model", None))
            return (
                str(path),
                run.kind,
                run.status,
                str(run.config.preset),
                described,
                str(steps),
                str(len(run.sampling_names())),
                str(run.info.get("created", "")),
            )
    except GKNError as exc:
        return (str(path), "?", f"unreadable: {exc}", "", "", "", "", "")


class RunsView(QWidget):
    open_requested = pyqtSignal(str)
    compare_requested = pyqtSignal(str)

    def __init__(self) -> None:
        super().__init__()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(lambda _: self._emit(self.open_requested))
        self.open_button = QPushButton("Replay")
        self.open_button.setToolTip("Open the selected run and scrub through its steps and generations")
        self.open_button.clicked.connect(lambda: self._emit(self.open_requested))
        self.compare_button = QPushButton("Compare in 1D view")
        self.compare_button.setToolTip("Show the selected run beside the current one in the 1D view")
        self.compare_button.clicked.connect(lambda: self._emit(self.compare_requested))
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.compare_button)
        buttons.addStretch()
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addLayout(buttons)

    def show_runs(self, paths: list[str]) -> None:
        existing = [Path(p) for p in paths if Path(p).exists()]
        self.table.setRowCount(len(existing))
        for row, path in enumerate(existing):
            for column, text in enumerate(run_summary(path)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()

    def _emit(self, signal) -> None:
        row = self.table.currentRow()
        if row >= 0:
            signal.emit(self.table.item(row, 0).text())

    def export_items(self) -> list:
        return []
