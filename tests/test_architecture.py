"""gkn_core never imports Qt: checked statically (import-linter) and at run time."""

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import gkn_core

ROOT = Path(__file__).resolve().parents[1]
QT_MODULES = ("PyQt6", "PyQt5", "PySide6", "PySide2", "qtpy", "pyqtgraph", "superqt")


def test_importing_every_core_module_loads_no_qt():
    modules = [
        m.name
        for m in pkgutil.walk_packages(gkn_core.__path__, "gkn_core.")
        if not m.name.endswith(".__main__")  # `python -m` entry points run the CLI when imported
    ]
    assert "gkn_core.cli" in modules and "gkn_core.runs.writer" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_no_core_source_mentions_a_qt_import():
    for source in (ROOT / "gkn_core").rglob("*.py"):
        text = source.read_text()
        for qt in QT_MODULES:
            assert f"import {qt}" not in text and f"from {qt}" not in text, f"{source} imports {qt}"


def test_import_linter_contracts_hold():
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "import-linter is part of the dev install"
    result = subprocess.run([lint_imports], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gkn_core never imports Qt KEPT" in result.stdout
    assert "the app's labs know nothing of each other KEPT" in result.stdout
    assert "app layers: window and registry above the labs above the shared parts KEPT" in result.stdout


def test_every_family_of_the_core_registry_has_its_lab_and_views_in_the_app():
    """The app finds the lab of kind K in the package app.K (LAB, VIEWS): one lab per registered
    family, each with views of its own, every tab name once."""
    from app.labs import LABS, VIEWS, view_names
    from gkn_core.families import FAMILIES

    assert [entry.kind for entry in LABS] == list(FAMILIES) == ["gkn", "chaos"]
    assert all(entry.load().__module__ == f"app.{entry.kind}.lab" for entry in LABS)
    assert view_names("gkn") == ("1d", "2d", "kaleidoscope", "loss")
    assert view_names("chaos") == ("chaos", "dynamics", "lyapunov")
    assert len(VIEWS) == len(set(VIEWS))
