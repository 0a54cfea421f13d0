"""`gkn`: train, sample, inspect and export runs of both model families from the command line.

Bad input of any kind ends with one line on stderr and exit code 2, never a traceback. The first
Ctrl+C stops a job at the next step boundary and closes its run file with status `stopped`.

Each module of this package registers its commands: one per family (`gkn`, `chaos`: named by the
registry, gkn_core/families.py), `runs` (any run file), `sweep`, `reproduce`. Nothing here imports
torch or Qt: `gkn --help`, `gkn version`, `gkn presets` and `gkn runs show` answer at once; a job
imports torch when it starts.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

# typer vendors click since 0.2x; its exceptions are the ones raised (typer is pinned in constraints.txt).
from typer._click import exceptions as click_errors

from gkn_core import __version__
from gkn_core.cli import reproduce, runs, sweep
from gkn_core.cli.common import raised_by_h5py, stdout
from gkn_core.errors import GKNError, out_of_memory
from gkn_core.families import FAMILIES, load

# The order of `gkn --help`; a command added elsewhere (`gkn app`, from the app layer) takes its place.
COMMAND_ORDER = (
    "train", "sample", "runs", "export", "lyapunov", "sweep", "reproduce", "app", "presets", "chaos-presets",
    "version",
)  # fmt: skip


class OrderedGroup(typer.core.TyperGroup):
    def list_commands(self, ctx: Any) -> list[str]:
        names = list(self.commands)
        rank = {name: i for i, name in enumerate(COMMAND_ORDER)}
        return sorted(names, key=lambda name: rank.get(name, len(rank)))


cli = typer.Typer(
    name="gkn",
    cls=OrderedGroup,
    help="GKN Studio: Generative Kaleidoscopic Networks and chaotic RNN generative models from the "
    "command line: train, sample, inspect, export, sweep.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
train_cli = typer.Typer(help="Train a model and record the run to an HDF5 file.", no_args_is_help=True)
cli.add_typer(train_cli, name="train")


def version() -> None:
    """Print the version."""
    stdout.print(f"gkn-studio {__version__}")


for family in FAMILIES.values():
    load(family.commands)(train_cli, cli)
runs.register(cli)
sweep.register(cli)
reproduce.register(cli)
cli.command("version")(version)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning every user error into one line and exit code 2."""
    command = typer.main.get_command(cli)
    try:
        result = command.main(args=argv, prog_name="gkn", standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:
        print(exc.ctx.get_help() if exc.ctx else str(exc))
        sys.exit(0)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except click_errors.ClickException as exc:
        where = f" ({exc.ctx.command_path})" if getattr(exc, "ctx", None) else ""
        print(f"gkn: error{where}: {exc.format_message()}", file=sys.stderr)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        print("gkn: interrupted", file=sys.stderr)
        sys.exit(130)
    except GKNError as exc:
        print(f"gkn: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except (MemoryError, RuntimeError, OSError, KeyError, ValueError, TypeError) as exc:
        memory = out_of_memory(exc)  # out of memory outside a job (e.g. a Lyapunov spectrum)
        if memory is not None:
            print(f"gkn: error: {memory} (try smaller settings or another device)", file=sys.stderr)
            sys.exit(2)
        if not raised_by_h5py(exc):
            raise
        # HDF5 could not read an object of a damaged file the reader's checks did not reach
        from gkn_core.runs.reader import damage_reason

        print(f"gkn: error: a file is damaged: {damage_reason(exc)}", file=sys.stderr)
        sys.exit(2)
    sys.exit(result if isinstance(result, int) else 0)
