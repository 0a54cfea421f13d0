"""Options that `gkn train gkn` and `gkn train chaos` share: where the starting settings come from."""

from pathlib import Path
from typing import Annotated

import typer

FromRun = Annotated[Path | None, typer.Option("--from", help="Start from the settings of this run file.")]
ConfigFile = Annotated[
    Path | None, typer.Option("--config", help="Start from a preset file of your own (TOML).")
]
