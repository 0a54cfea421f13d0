"""The PNG figures of a reproduction report, drawn with matplotlib's Agg backend (no display, no Qt).

Every figure is a set of curves (mean over seeds with the standard deviation as error bars) against
one axis, in one or more panels, plus an optional image grid of samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Curve:
    label: str
    x: Sequence[float]
    mean: Sequence[float]
    std: Sequence[float] | None = None
    dashed: bool = False


@dataclass(frozen=True)
class Panel:
    title: str
    xlabel: str
    ylabel: str
    curves: list[Curve] = field(default_factory=list)
    logx: bool = False
    vline: float | None = None  # a marked x (e.g. the training T)
    hline: float | None = None  # a marked y (e.g. 0 or an ideal value)
    xticks: Sequence[float] | None = None  # ticks at these x (labelled with their values)
    xticklabels: Sequence[str] | None = None


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def draw_panels(path: str | Path, title: str, panels: Sequence[Panel]) -> Path:
    """Draw the panels side by side into a PNG at `path` (folders created)."""
    plt = _pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = max(1, len(panels))
    fig, axes = plt.subplots(1, n, figsize=(4.6 * n, 3.6), squeeze=False)
    for ax, panel in zip(axes[0], panels, strict=False):
        for curve in panel.curves:
            x = np.asarray(curve.x, dtype=float)
            y = np.asarray(curve.mean, dtype=float)
            err = None if curve.std is None else np.nan_to_num(np.asarray(curve.std, dtype=float))
            ax.errorbar(
                x,
                y,
                yerr=err,
                marker="o",
                ms=4,
                capsize=3,
                label=curve.label,
                linestyle="--" if curve.dashed else "-",
            )
        if panel.logx:
            ax.set_xscale("log", base=2)
        if panel.xticks is not None:
            ax.set_xticks(list(panel.xticks))
            labels = panel.xticklabels or [f"{t:g}" for t in panel.xticks]
            ax.set_xticklabels(list(labels))
            ax.minorticks_off()
        if panel.vline is not None:
            ax.axvline(panel.vline, color="grey", lw=1, ls=":")
        if panel.hline is not None:
            ax.axhline(panel.hline, color="grey", lw=1, ls=":")
        ax.set_title(panel.title, fontsize=10)
        ax.set_xlabel(panel.xlabel)
        ax.set_ylabel(panel.ylabel)
        if panel.curves:
            ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def draw_message(path: str | Path, title: str, message: str) -> Path:
    """A figure that says why there is nothing to plot (a claim that could not be measured)."""
    plt = _pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 2.4))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, fontsize=9)
    fig.suptitle(title, fontsize=11)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
