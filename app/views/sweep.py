"""Sweep view: open a sweep folder, plot any end metric against any swept field with error bars over
seeds, and click a point to open its run.

The numbers (mean and standard deviation over seeds, one curve per combination of the other swept
fields) come from gkn_core.sweeps.load_sweep; this widget only draws them. A folder whose sweep is
still running redraws as its summary changes.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QFileSystemWatcher, Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.views import PALETTE
from gkn_core.errors import GKNError
from gkn_core.families import METRICS
from gkn_core.sweeps import SweepCurve, SweepRow, SweepTable, load_sweep
from gkn_core.sweeps.spec import describe_point, format_value

NO_METRIC = "(nothing)"
MAX_VALUE_TICKS = 16  # swept values labelled one by one up to this many
RELOAD_DELAY_MS = 500  # a running sweep rewrites its summary after every job: redraw once per burst


class SweepView(QWidget):
    """`open_folder(path)` shows a sweep; clicking a point emits `run_requested(run_path)`."""

    run_requested = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table: SweepTable | None = None
        self.folder: Path | None = None
        self._shown: list[tuple[SweepCurve, np.ndarray]] = []  # per curve item: its curve, points shown

        self.open_button = QPushButton("Open sweep…")
        self.open_button.setToolTip("Open a sweep folder written by `gkn sweep`")
        self.open_button.clicked.connect(self._choose_folder)
        self.metric_box = QComboBox()
        self.metric_box.setToolTip("End metric (y)")
        self.compare_box = QComboBox()
        self.compare_box.setToolTip(
            "A second end metric on the same axes, dashed (e.g. before/after training)"
        )
        self.x_box = QComboBox()
        self.x_box.setToolTip("Swept field (x); every other swept field gets its own curve")
        self.seed_box = QComboBox()
        self.seed_box.setToolTip("Which seed's run a click on a point opens")
        self.log_x = QCheckBox("log x")
        self.log_y = QCheckBox("log y")
        for box in (self.metric_box, self.compare_box, self.x_box):
            box.currentIndexChanged.connect(self.redraw)
        for check in (self.log_x, self.log_y):
            check.toggled.connect(self.redraw)

        controls = QHBoxLayout()
        controls.addWidget(self.open_button)
        controls.addWidget(QLabel("metric"))
        controls.addWidget(self.metric_box, 2)
        controls.addWidget(QLabel("and"))
        controls.addWidget(self.compare_box, 2)
        controls.addWidget(QLabel("against"))
        controls.addWidget(self.x_box, 2)
        controls.addWidget(self.log_x)
        controls.addWidget(self.log_y)
        controls.addWidget(QLabel("click opens"))
        controls.addWidget(self.seed_box, 1)

        self.plot_widget = pg.PlotWidget()
        self.plot = self.plot_widget.getPlotItem()
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        for name in ("left", "bottom"):  # the swept values and metrics as they are, not rescaled by 1000
            self.plot.getAxis(name).enableAutoSIPrefix(False)
        self.legend = self.plot.addLegend(offset=(-10, 10), brush=pg.mkBrush(255, 255, 255, 200))
        self.curve_items: list[pg.PlotDataItem] = []
        self.error_items: list[pg.ErrorBarItem] = []
        self.status = QLabel("Open a sweep folder (gkn sweep --out DIR) to compare its runs.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.status)

        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(lambda _: self._reload_timer.start())
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(RELOAD_DELAY_MS)
        self._reload_timer.timeout.connect(self.reload)

    # -- loading ---------------------------------------------------------------------------------
    def _choose_folder(self) -> None:
        start = str(self.folder.parent) if self.folder else ""
        path = QFileDialog.getExistingDirectory(self, "Open a sweep folder", start)
        if path:
            try:
                self.open_folder(path)
            except GKNError as exc:
                self.status.setText(f"Cannot open {path}: {exc}")

    def open_folder(self, path: str | Path) -> None:
        """Show the sweep in `path`; GKNError (one line) if it is not a readable sweep folder."""
        table = load_sweep(path)
        if self._watcher.directories():
            self._watcher.removePaths(self._watcher.directories())
        self.folder = Path(path)
        self._watcher.addPath(str(self.folder))
        self._show_table(table, keep_selection=False)

    def reload(self) -> None:
        """Read the folder again (a running sweep has finished more jobs)."""
        if self.folder is None:
            return
        try:
            table = load_sweep(self.folder)
        except GKNError as exc:
            self.status.setText(f"Cannot reload {self.folder}: {exc}")
            return
        self._show_table(table, keep_selection=True)

    def _show_table(self, table: SweepTable, keep_selection: bool) -> None:
        metric, x = self.metric_box.currentText(), self.x_box.currentText()
        compare, seed = self.compare_box.currentText(), self.seed_box.currentIndex()
        self.table = table
        boxes = (self.metric_box, self.compare_box, self.x_box, self.seed_box)
        for box in boxes:
            box.blockSignals(True)
            box.clear()
        descriptions = METRICS[table.spec.kind]
        for name in table.metrics:
            self.metric_box.addItem(name)
            self.metric_box.setItemData(
                self.metric_box.count() - 1, descriptions.get(name, ""), Qt.ItemDataRole.ToolTipRole
            )
        self.compare_box.addItems([NO_METRIC, *table.metrics])
        self.x_box.addItems(table.fields)
        self.seed_box.addItems([f"seed {s}" for s in table.spec.seeds])
        if keep_selection:
            self.metric_box.setCurrentText(metric)
            self.compare_box.setCurrentText(compare)
            self.x_box.setCurrentText(x)
            self.seed_box.setCurrentIndex(max(0, seed))
        elif table.fields:
            numeric = [f for f in table.fields if table.is_numeric(f) and len(table.spec.grid[f]) > 1]
            self.x_box.setCurrentText((numeric or table.fields)[-1])
        for box in boxes:
            box.blockSignals(False)
        self.redraw()

    # -- selection (also for scripts and tests) --------------------------------------------------
    def set_selection(
        self,
        metric: str,
        x: str,
        log_x: bool | None = None,
        log_y: bool | None = None,
        compare: str | None = None,
    ) -> None:
        """Choose what is drawn, as the combo and check boxes would (`compare`: a second metric)."""
        if self.table is None:
            raise GKNError("no sweep is open")
        if metric not in self.table.metrics:
            raise GKNError(f"this sweep has no metric {metric!r} ({', '.join(self.table.metrics)})")
        if x not in self.table.fields:
            raise GKNError(f"{x!r} is not swept here ({', '.join(self.table.fields)})")
        if compare is not None and compare not in self.table.metrics:
            raise GKNError(f"this sweep has no metric {compare!r} ({', '.join(self.table.metrics)})")
        widgets = (self.metric_box, self.compare_box, self.x_box, self.log_x, self.log_y)
        for widget in widgets:
            widget.blockSignals(True)
        self.metric_box.setCurrentText(metric)
        self.compare_box.setCurrentText(compare or NO_METRIC)
        self.x_box.setCurrentText(x)
        if log_x is not None:
            self.log_x.setChecked(log_x)
        if log_y is not None:
            self.log_y.setChecked(log_y)
        for widget in widgets:
            widget.blockSignals(False)
        self.redraw()

    @property
    def curves(self) -> list[SweepCurve]:
        """The curves drawn now (their points before any log scaling)."""
        return [curve for curve, _ in self._shown]

    # -- drawing ---------------------------------------------------------------------------------
    def _item(self, index: int) -> tuple[pg.PlotDataItem, pg.ErrorBarItem]:
        """The index-th curve and its error bars, created on first use and reused after that."""
        while len(self.curve_items) <= index:
            curve = pg.PlotDataItem(symbol="o", symbolSize=8)
            curve.sigPointsClicked.connect(self._on_points_clicked)
            bars = pg.ErrorBarItem(beam=0.0)
            self.plot.addItem(bars)
            self.plot.addItem(curve)
            self.curve_items.append(curve)
            self.error_items.append(bars)
        return self.curve_items[index], self.error_items[index]

    def _style(self, index: int, color_index: int, dashed: bool) -> None:
        """Solid lines and filled dots for the metric; dashed lines and open dots for the second one."""
        color = PALETTE[color_index % len(PALETTE)]
        style = Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
        item = self.curve_items[index]
        item.setPen(pg.mkPen(color, width=2, style=style))
        item.setSymbolPen(pg.mkPen(color, width=1.5) if dashed else pg.mkPen("w", width=1))
        item.setSymbolBrush(pg.mkBrush(255, 255, 255) if dashed else pg.mkBrush(color))
        self.error_items[index].setData(pen=pg.mkPen(color, width=1.5, style=style))

    def redraw(self) -> None:
        table = self.table
        metric, x = self.metric_box.currentText(), self.x_box.currentText()
        self._shown = []
        self.legend.clear()
        if table is None or not metric or not x:
            for item in (*self.curve_items, *self.error_items):
                item.setVisible(False)
            return
        compare = self.compare_box.currentText()
        compare = compare if compare in table.metrics and compare != metric else ""
        first = table.curves(metric, x)
        second = table.curves(compare, x) if compare else []
        curves = first + second
        log_x = self.log_x.isChecked() and table.is_numeric(x)
        log_y = self.log_y.isChecked()
        widths = []
        for index, curve in enumerate(curves):
            item, bars = self._item(index)
            dashed = index >= len(first)
            self._style(index, index - len(first) if dashed else index, dashed)
            keep = np.ones(len(curve.x), dtype=bool)
            if log_x:
                keep &= curve.x > 0
            if log_y:
                keep &= curve.mean > 0  # a log axis cannot show 0 or less
            xs, mean, std = curve.x[keep], curve.mean[keep], curve.std[keep]
            if log_x:
                xs = np.log10(xs)
            if log_y:
                top = np.log10(mean + std) - np.log10(mean)
                # A bar reaching 0 or below is cut at a hundredth of the mean on a log axis.
                bottom = np.log10(mean) - np.log10(np.maximum(mean - std, mean / 100))
                ys = np.log10(mean)
            else:
                top = bottom = std
                ys = mean
            item.setData(xs, ys)
            bars.setData(x=xs, y=ys, top=top, bottom=bottom)
            item.setVisible(True)
            bars.setVisible(True)
            if len(xs) > 1:
                widths.append(float(np.min(np.diff(np.sort(xs)))))
            self._shown.append((curve, np.flatnonzero(keep)))
            label = curve.label
            if compare:
                label = (
                    f"{label}, {compare if dashed else metric}" if label else (compare if dashed else metric)
                )
            if label:
                self.legend.addItem(item, label)
        beam = 0.25 * min(widths) if widths else 0.1
        for bars in self.error_items[: len(curves)]:
            bars.setData(beam=beam)
        for item in (*self.curve_items[len(curves) :], *self.error_items[len(curves) :]):
            item.setVisible(False)
        self._label_axes(table, f"{metric} and {compare} (dashed)" if compare else metric, x, log_x, log_y)
        self._place_legend()
        counts = ", ".join(f"{n} {status}" for status, n in sorted(table.counts().items()))
        self.status.setText(
            f"{self.folder}: {table.spec.kind} sweep, {len(table.rows)} jobs ({counts}). "
            f"Points: mean ± std over seeds. Click a point to open its run."
        )

    def _label_axes(self, table: SweepTable, metric: str, x: str, log_x: bool, log_y: bool) -> None:
        bottom, left = self.plot.getAxis("bottom"), self.plot.getAxis("left")
        values = table.spec.grid[x]
        left.setLogMode(log_y)
        if not table.is_numeric(x):  # words (presets, architectures) sit at 0, 1, 2 ...
            bottom.setLogMode(False)
            bottom.setTicks([[(i, format_value(v)) for i, v in enumerate(values)]])
        elif len(values) <= MAX_VALUE_TICKS:
            # A tick at every swept value (n = 1, 2, 4 ... reads better than decades and their minor ticks).
            bottom.setLogMode(False)
            shown = [v for v in values if v > 0] if log_x else values
            bottom.setTicks([[(math.log10(v) if log_x else v, format_value(v)) for v in shown], []])
        else:
            bottom.setLogMode(log_x)
            bottom.setTicks(None)
        self.plot.setLabel("bottom", x)
        self.plot.setLabel("left", metric)
        self.plot.setTitle(f"{metric} against {x} ({table.spec.kind} sweep, {len(table.spec.seeds)} seeds)")
        self.plot.enableAutoRange()

    def _place_legend(self) -> None:
        """Put the legend in the corner of the plot that has the fewest points and error bars."""
        xs, ys = [], []
        for item, bars in zip(self.curve_items, self.error_items, strict=True):
            if item.isVisible():
                x, y = item.getData()
                if x is not None and len(x):
                    top, bottom = bars.opts["top"], bars.opts["bottom"]
                    xs.extend([x, x, x])
                    ys.extend([y, y + top, y - bottom])
        if not xs:
            return
        x, y = np.concatenate(xs), np.concatenate(ys)
        finite = np.isfinite(x) & np.isfinite(y)
        x, y = x[finite], y[finite]
        if not len(x):
            return
        span_x = max(float(np.ptp(x)), 1e-12)
        span_y = max(float(np.ptp(y)), 1e-12)
        u, v = (x - x.min()) / span_x, (y - y.min()) / span_y  # 0..1 across the data
        corners = {  # (item anchor = parent anchor, offset); y grows upwards in data, downwards on screen
            "top-right": ((1, 0), (-10, 10), (u > 0.6) & (v > 0.6)),
            "top-left": ((0, 0), (60, 10), (u < 0.4) & (v > 0.6)),
            "bottom-right": ((1, 1), (-10, -40), (u > 0.6) & (v < 0.4)),
            "bottom-left": ((0, 1), (60, -40), (u < 0.4) & (v < 0.4)),
        }
        anchor, offset, _ = min(corners.values(), key=lambda c: int(c[2].sum()))
        self.legend.anchor(itemPos=anchor, parentPos=anchor, offset=offset)

    # -- clicking --------------------------------------------------------------------------------
    def _on_points_clicked(self, item: pg.PlotDataItem, points: list, event: object = None) -> None:
        if not points or item not in self.curve_items:
            return
        index = self.curve_items.index(item)
        if index >= len(self._shown):
            return
        curve, kept = self._shown[index]
        position = int(kept[points[0].index()])
        self.request_run(curve, position)

    def request_run(self, curve: SweepCurve, position: int) -> str | None:
        """Emit `run_requested` with the chosen seed's run at a point (another seed's if that one has
        no finished run); returns the path, or None when the point has no run file."""
        rows: list[SweepRow] = curve.rows[position]
        wanted = self.table.spec.seeds[self.seed_box.currentIndex()] if self.table else None
        usable = [r for r in rows if r.run is not None and r.status == "completed" and r.run.is_file()]
        chosen = next((r for r in usable if r.seed == wanted), usable[0] if usable else None)
        where = describe_point({**curve.group, self.x_box.currentText(): curve.x_values[position]})
        if chosen is None:
            self.status.setText(f"{where}: no run file to open (untrained-network jobs record only numbers)")
            return None
        value = curve.mean[position]
        shown = "" if not math.isfinite(value) else f" (mean {value:.4g} ± {curve.std[position]:.2g})"
        self.status.setText(f"{where}{shown}: opening seed {chosen.seed}, {chosen.run}")
        self.run_requested.emit(str(chosen.run))
        return str(chosen.run)

    # -- export ----------------------------------------------------------------------------------
    def export_items(self) -> list[pg.PlotItem]:
        return [self.plot]

    def export_png(self, path: str | Path, width: int = 900) -> None:
        """The plot alone (no controls) as a PNG `width` pixels wide."""
        from pyqtgraph.exporters import ImageExporter

        exporter = ImageExporter(self.plot)
        exporter.parameters()["width"] = width
        exporter.export(str(path))
