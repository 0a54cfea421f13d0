"""What every `gkn` command shares: result lines, progress bars, Ctrl+C, option helpers, and the
one-line handling of every user error (exit code 2, never a traceback).

Imports neither torch nor Qt: `gkn --help` and friends answer at once.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from gkn_core.errors import GKNError

if TYPE_CHECKING:  # numpy (through the job module) is not needed for --help
    from gkn_core.job import Job

stdout = Console(soft_wrap=True)  # result lines stay whole lines when piped


def drop_none(section: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in section.items() if v is not None}


def data_source(data: str, known: tuple[str, ...]) -> dict[str, Any]:
    """The data section for `--data`: a known data set by name, or an image file (made absolute)."""
    if data in known:
        return {"source": data}
    if Path(data).exists():
        return {"source": "file", "path": str(Path(data).resolve())}
    raise GKNError(f"--data: {data!r} is neither a known data set ({', '.join(known)}) nor a file")


def run_kind(run_path: Path) -> str:
    from gkn_core.runs.reader import open_run

    with open_run(run_path) as run:
        return run.kind


def wrote(out: Path, shapes: dict[str, tuple[int, ...]]) -> None:
    """The `wrote OUT (chains 16x31x1, ...)` line of an export."""
    from gkn_core.runs.export import described

    stdout.print(f"wrote {out} ({described(shapes)})")


@contextlib.contextmanager
def ctrl_c_stops(job: Job) -> Iterator[None]:
    """First Ctrl+C: stop at the next step; a second one interrupts at once."""

    def handler(signum: int, frame: object) -> None:
        if job.stop_requested:
            raise KeyboardInterrupt
        job.stop()
        print("\nstopping after this step (Ctrl+C again to interrupt)", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def progress_bar(quiet: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[metric]}"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=quiet,
        transient=False,
    )


def settings_from_options(
    kind: str,
    preset: str | None,
    from_run: Path | None,
    config_file: Path | None,
    seed: int | None,
    device: str | None,
    sections: dict[str, dict[str, Any]],
) -> Any:
    """A train command's settings: the starting ones (preset, --from or --config), then the options
    given on the command line (the empty sections dropped)."""
    from gkn_core.runs.settings_file import starting_settings

    overrides: dict[str, Any] = drop_none({"seed": seed, "device": device})
    overrides.update({name: section for name, section in sections.items() if section})
    return starting_settings(kind, preset, from_run, config_file, overrides)


def follow_job(
    job: Job, snapshots: Iterable[Any], label: str, quiet: bool, metric: Callable[[Any], str], every: int = 1
) -> Any:
    """Drive a job to its end under a progress bar (Ctrl+C stops it); returns its last snapshot.

    `metric(snap)` sees every snapshot; the bar is redrawn every `every` steps and at the last one."""
    last = None
    with ctrl_c_stops(job), progress_bar(quiet) as progress:
        task = progress.add_task(label, total=job.total_steps, metric="")
        for last in snapshots:
            shown = metric(last)
            if last.step % every == 0 or last.step == job.total_steps:
                progress.update(task, completed=last.step, metric=shown)
    return last


def presets_command(kind: str, what: str) -> Callable[[], None]:
    """The command that lists a family's presets (`gkn presets`, `gkn chaos-presets`)."""

    def presets() -> None:
        from rich.table import Table

        from gkn_core.families import family

        presets = family(kind)
        table = Table("preset", "description")
        for name in presets.preset_names():
            table.add_row(name, presets.preset_description(name))
        stdout.print(table)

    presets.__doc__ = f"List the {what}."
    return presets


def raised_by_h5py(exc: BaseException) -> bool:
    """True when the error came out of h5py (reading a damaged file), not out of this product's code."""
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and "h5py" in Path(frames[-1].filename).parts


def run_table(run: Any, value_range: str, model: str, train: str) -> Table:
    """The first rows of every `gkn runs show` table: the run's info, its preset, data, model and
    training settings (the model and train rows as each family words them)."""
    table = Table(title=str(run.path), show_header=False)
    for key, value in run.info.items():
        table.add_row(key, str(value))
    config = run.config
    table.add_row("preset", str(config.preset))
    n = run.file["data"].attrs["n"]
    table.add_row("data", f"{config.data.source} ({n} x {run.dim}, range {value_range})")
    table.add_row("model", model)
    table.add_row("train", train)
    return table


@dataclass(frozen=True)
class ExportRequest:
    """What `gkn export` asks of one run's family: `what` (chains, samples, metrics, recording) of the
    run at `run_path`, as `fmt`, to `out`; `sampling` and `recording`: which (None: the newest)."""

    run_path: Path
    out: Path
    what: str
    fmt: str
    sampling: int | None
    recording: int | None
    overwrite: bool
