"""Claims view: a `gkn reproduce` report folder, one row per claim, with its verdict, numbers and figure.

The table says, for each claim of the two papers, the verdict and the headline numbers (difference ±
standard error against the baseline). Selecting a claim shows the paper's words, the setting, every
measured number beside its baseline, the rule the verdict follows and the figure the report made;
the runs behind the claim are listed, and a double click replays one (`run_requested`). Nothing is
computed here: everything comes from the report's claims.json (gkn_core.reproduce.report).
"""

from __future__ import annotations

import html
from pathlib import Path

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QBrush, QColor, QPixmap
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QListWidget,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from gkn_core.reproduce.claims import ClaimResult
from gkn_core.reproduce.report import format_summary, headline, load_report

COLUMNS = ("verdict", "claim", "paper", "numbers (difference ± s.e.)")
VERDICT_COLUMN, CLAIM_COLUMN = 0, 1
VERDICT_COLOURS = {"reproduced": "#2e7d32", "not reproduced": "#c62828", "inconclusive": "#b26a00"}
MAX_RUNS_LISTED = 500


def runs_behind(folder: Path, result: ClaimResult) -> list[Path]:
    """The run files behind a claim (its runs folder, searched recursively), newest layout first."""
    if not result.runs:
        return []
    root = folder / result.runs
    return sorted(root.rglob("*.h5"))[:MAX_RUNS_LISTED] if root.is_dir() else []


def details_html(result: ClaimResult) -> str:
    """The text of one claim: words, setting, measured beside baseline, rule, parts, notes."""
    esc = html.escape
    paper = result.paper
    rows = []
    measured, baseline = list(result.measured.items()), list(result.baseline.items())
    for i in range(max(len(measured), len(baseline))):
        left = (measured[i][0], format_summary(measured[i][1])) if i < len(measured) else ("", "")
        right = (baseline[i][0], format_summary(baseline[i][1])) if i < len(baseline) else ("", "")
        rows.append(
            f"<tr><td>{esc(left[0])}</td><td>{esc(left[1])}</td>"
            f"<td>&nbsp;&nbsp;</td><td>{esc(right[0])}</td><td>{esc(right[1])}</td></tr>"
        )
    colour = VERDICT_COLOURS.get(result.verdict, "#000")
    parts = "".join(
        f"<li>{esc(str(p.get('name', '')))}: {esc(str(p.get('what', '')))} "
        f"<b>{esc(str(p.get('verdict', '')))}</b></li>"
        for p in result.parts
    )
    notes = "".join(f"<li>{esc(n)}</li>" for n in result.notes)
    return (
        f"<h3>({esc(result.id)}) <span style='color:{colour}'>{esc(result.verdict)}</span></h3>"
        f"<p><i>{esc(paper.get('title', ''))}</i> ({esc(', '.join(paper.get('authors', [])))}, "
        f"arXiv {esc(paper.get('arxiv', ''))})</p>"
        f"<blockquote>{esc(result.claim)}</blockquote>"
        f"<p><b>Setting.</b> {esc(str(result.setting.get('words', '')))} "
        f"(budget {esc(result.budget)}, {result.elapsed_s:.0f} s)</p>"
        "<table cellspacing='0' cellpadding='2'><tr><th align='left'>measured</th><th></th><th></th>"
        f"<th align='left'>baseline</th><th></th></tr>{''.join(rows)}</table>"
        f"<p><b>Rule.</b> {esc(result.rule)}</p><ul>{parts}{notes}</ul>"
    )


class ClaimsView(QWidget):
    """The claims of one report folder; `run_requested(path)` replays a run behind a claim."""

    run_requested = pyqtSignal(str)

    def __init__(self) -> None:
        super().__init__()
        self.folder: Path | None = None
        self.results: list[ClaimResult] = []
        self.title = QLabel("No report open: File > Open report folder, or `gkn app REPORT_DIR`.")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(CLAIM_COLUMN, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().setVisible(False)
        self.details = QTextBrowser()
        self.figure = QLabel()
        self.figure.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.figure.setMinimumHeight(160)
        self.runs = QListWidget()
        self.runs.setToolTip("The runs behind this claim: double click to replay one")
        self._pixmap = QPixmap()

        right = QSplitter(Qt.Orientation.Vertical)
        for widget in (self.details, self.figure, self.runs):
            right.addWidget(widget)
        right.setSizes([260, 320, 120])
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(right)
        split.setSizes([520, 560])
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(split, 1)

        self.table.itemSelectionChanged.connect(self._show_selected)
        self.runs.itemDoubleClicked.connect(lambda item: self.run_requested.emit(item.text()))

    def open_folder(self, folder: str | Path) -> None:
        """Show a report folder; GKNError (one line) when it holds no readable claims.json."""
        results = load_report(folder)
        self.folder, self.results = Path(folder), results
        counts = {v: sum(r.verdict == v for r in results) for v in VERDICT_COLOURS}
        tally = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
        self.title.setText(f"{self.folder}: {len(results)} claims ({tally})")
        self.table.setRowCount(len(results))
        for row, result in enumerate(results):
            cells = (
                result.verdict,
                f"({result.id}) {result.claim}",
                f"arXiv {result.paper.get('arxiv', '')}",
                headline(result),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if column == VERDICT_COLUMN:
                    item.setForeground(QBrush(QColor(VERDICT_COLOURS.get(result.verdict, "#000"))))
                self.table.setItem(row, column, item)
        self.table.setColumnWidth(CLAIM_COLUMN, 300)
        if results:
            self.table.selectRow(0)

    def selected(self) -> ClaimResult | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.results[rows[0].row()] if rows else None

    def _show_selected(self) -> None:
        result = self.selected()
        if result is None or self.folder is None:
            return
        self.details.setHtml(details_html(result))
        self._pixmap = QPixmap(str(self.folder / result.figure)) if result.figure else QPixmap()
        self._fit_figure()
        self.runs.clear()
        self.runs.addItems([str(p) for p in runs_behind(self.folder, result)])

    def _fit_figure(self) -> None:
        if self._pixmap.isNull():
            self.figure.setText("(no figure)")
            return
        size = self.figure.size()
        self.figure.setPixmap(
            self._pixmap.scaled(
                size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
            )
        )

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_figure()
