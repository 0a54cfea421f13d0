"""The `gkn` console script: the core CLI plus `gkn app`, which only the app layer can provide."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.main import VIEW_CHOICES
from gkn_core import cli as core_cli


@core_cli.cli.command("app")
def app_command(
    run_files: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="[RUN.h5 ...|DIR]",
            help="A run to replay; several runs (or a folder of runs) to compare; or a sweep folder.",
        ),
    ] = None,
    preset: Annotated[
        str | None, typer.Option(help="Preset to start from (a chaos preset with a chaos view).")
    ] = None,
    view: Annotated[
        str | None,
        typer.Option(help=f"View in front: {', '.join(VIEW_CHOICES)}."),
    ] = None,
    train_steps: Annotated[int | None, typer.Option(help="Training steps.")] = None,
    sample_steps: Annotated[int | None, typer.Option(help="Sampling steps.")] = None,
    screenshot: Annotated[Path | None, typer.Option(help="Render offscreen to this PNG and exit.")] = None,
    runs_dir: Annotated[Path | None, typer.Option(help="Where new runs are written.")] = None,
) -> None:
    """Open the desktop app (or, with --screenshot, render a view offscreen to a PNG)."""
    from app.main import run_app

    code = run_app(run_files or None, preset, view, train_steps, sample_steps, screenshot, runs_dir)
    if code:
        raise typer.Exit(code)


def main() -> None:
    core_cli.main()


if __name__ == "__main__":
    main()
