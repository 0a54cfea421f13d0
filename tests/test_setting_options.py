"""Options that override one setting each (gkn_core.cli.setting_options): what typer sees, and the
settings a command receives."""

import inspect
from typing import Any

import typer
from typer.testing import CliRunner

from gkn_core.cli.setting_options import SettingOption, gather, with_setting_options

OPTIONS = (
    SettingOption("nh", "model.Nh", int, "Hidden units."),
    SettingOption("T", "model.T", float, "Phase length.", ("--T",)),
    SettingOption("keep_best", "train.keep_best", bool, "Best or last.", ("--keep-best/--keep-last",)),
    SettingOption("chains", "chains", int, "Chains."),
)


def test_gather_nests_the_given_values_by_dotted_path_and_leaves_out_the_rest() -> None:
    given = {"nh": 64, "T": None, "keep_best": False, "chains": 3}
    assert gather(OPTIONS, given) == {"model": {"Nh": 64}, "train": {"keep_best": False}, "chains": 3}
    assert gather(OPTIONS, {}) == {}


def test_a_command_gets_its_settings_from_the_command_line_in_declaration_order() -> None:
    received: dict[str, Any] = {}

    @with_setting_options(*OPTIONS)
    def command(name: str, settings: dict[str, Any] | None = None, quiet: bool = False) -> None:
        received.update(name=name, settings=settings, quiet=quiet)

    names = list(inspect.signature(command).parameters)
    assert names == ["name", "nh", "T", "keep_best", "chains", "quiet"]
    app = typer.Typer()
    app.command()(command)
    result = CliRunner().invoke(app, ["x", "--nh", "8", "--T", "2.5", "--keep-last", "--quiet"])
    assert result.exit_code == 0, result.output
    assert received == {
        "name": "x",
        "settings": {"model": {"Nh": 8, "T": 2.5}, "train": {"keep_best": False}},
        "quiet": True,
    }
    bad = CliRunner().invoke(app, ["x", "--nh", "many"])
    assert bad.exit_code == 2 and "--nh" in bad.output
