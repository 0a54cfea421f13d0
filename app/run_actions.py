"""What the window does with runs beyond replaying one: compare many, train again with a run's settings,
export every run's scalars, save the settings as a preset file; and the Help menu (shortcuts, papers).

`install(window)` adds the menu entries and connects the Runs and Compare views; it keeps these out of
app/main_window.py, which only calls it once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PyQt6.QtGui import QAction, QGuiApplication, QKeySequence
from PyQt6.QtWidgets import QDialog, QFileDialog, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout

from gkn_core.errors import GKNError
from gkn_core.runs.reader import open_run
from gkn_core.runs.scalars import export_scalars, run_files
from gkn_core.runs.settings_file import write_settings_file

SHORTCUTS = (
    ("Space", "start, pause or resume training (sampling while it runs) of the lab in front"),
    ("Ctrl+1 ... Ctrl+9", "bring a tab to the front"),
    ("Ctrl+O", "open a run (replay)"),
    ("Ctrl+Shift+O", "open a sweep folder"),
    ("Ctrl+S", "save the run as a copy"),
    ("Ctrl+E", "export the current plot, a grid, chains or an animation"),
    ("Ctrl+Shift+E", "export the scalars of runs (CSV or Parquet)"),
    ("Ctrl+Q", "quit"),
    ("Left / Right in a step box", "one step back or on in a replay (every view follows)"),
)
CITATIONS = (
    (
        'Harsh Shrivastava, "Generative Kaleidoscopic Networks", arXiv:2402.11793 (2024).',
        "@article{shrivastava2024generative,\n"
        "  title   = {Generative Kaleidoscopic Networks},\n"
        "  author  = {Shrivastava, Harsh},\n"
        "  journal = {arXiv preprint arXiv:2402.11793},\n"
        "  year    = {2024}\n"
        "}",
    ),
    (
        'Samantha J. Fournier and Pierfrancesco Urbani, "Generative modeling through internal '
        'high-dimensional chaotic activity", arXiv:2405.10822 (2024).',
        "@article{fournier2024generative,\n"
        "  title   = {Generative modeling through internal high-dimensional chaotic activity},\n"
        "  author  = {Fournier, Samantha J. and Urbani, Pierfrancesco},\n"
        "  journal = {arXiv preprint arXiv:2405.10822},\n"
        "  year    = {2024}\n"
        "}",
    ),
)


def bibtex() -> str:
    return "\n\n".join(entry for _, entry in CITATIONS)


def install(window: Any) -> None:
    runs = window.views["runs"]
    runs.set_folders(getattr(window, "runs_dirs", [window.runs_dir]))
    runs.compare_selected.connect(lambda paths: compare_runs(window, paths))
    runs.train_again_requested.connect(lambda path: train_again(window, path))
    file_menu = window.menuBar().actions()[0].menu()
    first = next(a for a in file_menu.actions() if a.menu() is not None)  # before "Recent runs"
    for text, key, slot in (
        ("Export &scalars of runs...", QKeySequence("Ctrl+Shift+E"), lambda: export_scalars_dialog(window)),
        ("Save settings &as preset file...", None, lambda: save_settings_dialog(window)),
        ("&Train again with the settings of a run...", None, lambda: train_again_dialog(window)),
    ):
        action = QAction(text, window)
        if key is not None:
            action.setShortcut(key)
        action.triggered.connect(slot)
        file_menu.insertAction(first, action)
    help_menu = window.menuBar().addMenu("&Help")
    window.help_actions = {}
    for text, slot in (
        ("&Keyboard shortcuts", lambda: show_text(window, "Keyboard shortcuts", shortcuts_text())),
        ("&Cite the papers (BibTeX)", lambda: show_text(window, "Cite", citations_text(), bibtex())),
    ):
        action = help_menu.addAction(text)
        action.triggered.connect(slot)
        window.help_actions[text.replace("&", "")] = action


def shortcuts_text() -> str:
    return "\n".join(f"{key:<28} {what}" for key, what in SHORTCUTS)


def citations_text() -> str:
    return "\n\n".join(f"{line}\n\n{entry}" for line, entry in CITATIONS)


def show_text(window: Any, title: str, text: str, to_copy: str | None = None) -> QDialog:
    """A dialog with selectable text (and a Copy button for BibTeX); it does not block."""
    dialog = QDialog(window)
    dialog.setWindowTitle(title)
    layout = QVBoxLayout(dialog)
    box = QPlainTextEdit(text)
    box.setReadOnly(True)
    box.setMinimumSize(640, 320)
    layout.addWidget(box)
    if to_copy is not None:
        copy = QPushButton("Copy BibTeX")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(to_copy))
        layout.addWidget(copy)
        layout.addWidget(QLabel("GKN Studio implements the models of these two papers."))
    window.last_dialog = dialog
    dialog.open()
    return dialog


# -- compare, train again ---------------------------------------------------------------------------
def compare_runs(window: Any, paths: list[str | Path]) -> bool:
    """Overlay the curves of the runs (files, or the runs of a folder) in the Compare view."""

    def fill(view: Any) -> None:
        files = run_files(paths)
        if len(files) < 1:
            raise GKNError("select one or more runs to compare")
        view.open_paths(files)

    return window.show_filled("compare", fill)


def train_again(window: Any, path: str | Path) -> bool:
    """A new run with the settings of a run file, in the lab of its kind."""
    try:
        with open_run(path) as run:
            kind, config = run.kind, run.config
        lab = window.labs.get(kind)
        if lab is None:
            raise GKNError(f"{path} is a {kind} run; this window trains {' and '.join(window.labs)} runs")
    except GKNError as exc:
        window.show_error(str(exc))
        return False
    window.show_view(lab.VIEWS[0].name)
    return lab.train_again(config)


def train_again_dialog(window: Any) -> None:
    path, _ = QFileDialog.getOpenFileName(
        window, "Train again with the settings of", str(window.runs_dir), "Run files (*.h5)"
    )
    if path:
        train_again(window, path)


# -- exports ----------------------------------------------------------------------------------------
def export_scalars_to(window: Any, paths: list[str | Path], out: Path) -> bool:
    fmt = out.suffix.lower().lstrip(".")
    try:
        if fmt not in ("csv", "parquet"):
            raise GKNError(f"{out.name}: scalars export to .csv or .parquet")
        line = export_scalars([Path(p) for p in paths], fmt, out, overwrite=True)
    except (GKNError, OSError) as exc:
        window.show_error(str(exc))
        return False
    window.show_status(line, 8000)
    return True


def export_scalars_dialog(window: Any) -> None:
    """The runs compared (or selected in the Runs tab, or the run shown) as one long table."""
    compare, runs = window.views["compare"], window.views["runs"]
    paths = (
        runs.selected_paths()
        or [str(p) for p in compare.paths]
        or [str(p) for p in [window.front_lab().run_path] if p]
    )
    if not paths:
        window.show_error("no runs to export: select some in the Runs tab (or compare them) first")
        return
    out, _ = QFileDialog.getSaveFileName(
        window, "Export scalars to", "scalars.csv", "Tables (*.csv *.parquet)"
    )
    if out:
        export_scalars_to(window, paths, Path(out))


def save_settings_to(window: Any, path: Path) -> bool:
    """The front lab's settings as a preset file (`gkn train KIND --config FILE` reads it)."""
    try:
        write_settings_file(window.front_lab().controls.training_config(), path)
    except GKNError as exc:
        window.show_error(str(exc))
        return False
    window.show_status(f"saved the settings to {path}", 8000)
    return True


def save_settings_dialog(window: Any) -> None:
    lab = window.front_lab()
    path, _ = QFileDialog.getSaveFileName(
        window, "Save settings as", f"my-{lab.KIND}-preset.toml", "Preset files (*.toml)"
    )
    if path:
        save_settings_to(window, Path(path))
