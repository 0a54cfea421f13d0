"""The app's one registry: which lab shows which kind of run, and every tab in its order.

Each lab package declares the views it contributes (app/gkn/__init__.py, app/chaos/__init__.py); the
window builds its labs, tabs, settings pages and exports from this table, and `gkn app --view` takes its
choices from it. A new family adds its lab package and one line to LABS. No Qt is imported here.

The core registry gkn_core/families.py names the same kinds and, per kind, the same view names (the
core knows no widgets); tests/test_architecture.py checks that the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

from app import chaos, gkn
from app.host import ViewSpec


@dataclass(frozen=True)
class LabEntry:
    kind: str  # the run kind this lab trains, samples and replays (a run file's `kind`)
    lab: str  # "module:Class", imported when a window is built
    views: tuple[ViewSpec, ...]

    def load(self) -> Any:
        module, _, attribute = self.lab.partition(":")
        return getattr(import_module(module), attribute)


LABS = (
    LabEntry("gkn", "app.gkn.lab:GknLab", gkn.VIEWS),
    LabEntry("chaos", "app.chaos.lab:ChaosLab", chaos.VIEWS),
)
# The window's own views, which know no family: sweep folders, reproduction reports, the list of runs.
SHELL_VIEWS = (
    ViewSpec("sweep", "Sweeps", "app.views.sweep:SweepView"),
    ViewSpec("claims", "Claims", "app.views.claims:ClaimsView"),
    ViewSpec("runs", "Runs", "app.views.runs:RunsView"),
    ViewSpec("compare", "Compare", "app.views.compare:CompareView"),
)
VIEW_SPECS = tuple(view for entry in LABS for view in entry.views) + SHELL_VIEWS
VIEWS = tuple(view.name for view in VIEW_SPECS)  # tab order; the `--view` choices


def view_names(kind: str) -> tuple[str, ...]:
    """The views of one kind's lab (the place to compare with gkn_core.families once it lands)."""
    return next(tuple(v.name for v in entry.views) for entry in LABS if entry.kind == kind)


def kind_of_view(view: str) -> str | None:
    """The kind whose lab shows a view; None for the window's own views."""
    return next((entry.kind for entry in LABS if view in view_names(entry.kind)), None)
