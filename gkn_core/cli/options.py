"""Options that several commands share: where the starting settings come from, the run file, the
device, overwriting and quiet."""

from pathlib import Path
from typing import Annotated

import typer

FromRun = Annotated[Path | None, typer.Option("--from", help="Start from the settings of this run file.")]
ConfigFile = Annotated[
    Path | None, typer.Option("--config", help="Start from a preset file of your own (TOML).")
]
RunOut = Annotated[Path, typer.Option("--out", "-o", help="Run file to write (HDF5).")]
Device = Annotated[str | None, typer.Option(help="auto (CUDA if present), cpu, cuda, cuda:N.")]
Overwrite = Annotated[bool, typer.Option(help="Replace OUT if it exists.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
