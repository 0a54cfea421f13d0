"""Which lab shows which kind of run, and every tab in its order.

The kinds are those of the core registry, gkn_core/families.py; the lab of kind K is the package
`app.K`, which declares its lab class (`LAB`, "module:Class") and the views it contributes (`VIEWS`),
without importing Qt. The window builds its labs, tabs, settings pages and exports from LABS, and
`gkn app --view` takes its choices from VIEWS. A new family adds its package app/NAME and nothing here;
a family without one runs from the CLI only.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from importlib.util import find_spec
from typing import Any

from app.host import ViewSpec
from gkn_core.families import FAMILIES


@dataclass(frozen=True)
class LabEntry:
    kind: str  # the run kind this lab trains, samples and replays (a run file's `kind`)
    lab: str  # "module:Class", imported when a window is built
    views: tuple[ViewSpec, ...]

    def load(self) -> Any:
        module, _, attribute = self.lab.partition(":")
        return getattr(import_module(module), attribute)


def _lab_entry(kind: str) -> LabEntry:
    package = import_module(f"app.{kind}")
    return LabEntry(kind, package.LAB, package.VIEWS)


LABS = tuple(_lab_entry(kind) for kind in FAMILIES if find_spec(f"app.{kind}") is not None)
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
    """The views of one kind's lab, in tab order."""
    return next(tuple(v.name for v in entry.views) for entry in LABS if entry.kind == kind)


def kind_of_view(view: str) -> str | None:
    """The kind whose lab shows a view; None for the window's own views."""
    return next((entry.kind for entry in LABS if view in view_names(entry.kind)), None)
