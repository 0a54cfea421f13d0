"""What passes between a lab and the window that hosts it, and nothing else.

A lab asks its host (`LabHost`) for the few things only a window can do: ask a question, show an error
or a status line, name the run shown, keep the list of recent runs. It tells the window what it
contributes as data: its views (`ViewSpec`) and its exports (`ExportSpec`). Labs never import the
window; the window is one implementation of LabHost (a test can pass another).

No Qt here: the view table is read by `gkn app --help` without starting Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any, Protocol


class LabHost(Protocol):
    runs_dir: Path  # where a lab writes its new runs

    def confirm(self, question: str) -> bool:
        """Ask yes or no (a discard question); True for yes."""

    def show_error(self, message: str) -> None:
        """One line in a dialog that does not block, and in the status bar."""

    def show_status(self, message: str, timeout_ms: int = 5000) -> None:
        """A passing message in the status bar."""

    def set_run_label(self, text: str) -> None:
        """Name the run shown ("no run", its file name, "replay: ...")."""

    def set_device_label(self, device: str) -> None:
        """The device the lab's job computes on."""

    def remember_run(self, path: Path) -> None:
        """Put a run at the top of the recent runs (and the runs view)."""

    def refresh_runs(self) -> None:
        """Read the recent runs again (a job ended: its file changed)."""


@dataclass(frozen=True)
class ViewSpec:
    """A tab a lab contributes: its name (the `--view` choice), its title, and the widget class as
    "module:Class", imported only when a window is built."""

    name: str
    title: str
    factory: str

    def create(self) -> Any:
        module, _, attribute = self.factory.partition(":")
        return getattr(import_module(module), attribute)()


@dataclass(frozen=True)
class ExportSpec:
    """An entry of File > Export: what the user picks, the export's key, and the save dialog's filter."""

    label: str
    what: str
    file_filter: str
