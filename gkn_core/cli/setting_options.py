"""Command-line options that override one setting each, declared once.

A command lists its overrides as `SettingOption`s and takes a `settings` parameter;
`with_setting_options(...)` adds one typer option per override to the command's signature (where
`settings` stands, so `--help` keeps the order of the declaration) and calls the command with the given
ones gathered under their dotted paths: `--nh 64 --k 0.1` -> `settings={"model": {"Nh": 64}, "train":
{"k": 0.1}}`. Options left out are absent, so the preset or the run file decides.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import typer

Command = TypeVar("Command", bound=Callable[..., Any])


@dataclass(frozen=True)
class SettingOption:
    """`--name` (or `flags`) on the command line sets `setting` ("model.Nh", or a top-level "chains")."""

    name: str  # the parameter's name; typer makes --name-with-dashes of it unless flags are given
    setting: str
    type: Any
    help: str
    flags: tuple[str, ...] = ()

    def parameter(self) -> inspect.Parameter:
        option = typer.Option(*self.flags, help=self.help)
        annotation = Annotated[self.type | None, option]  # type: ignore[name-defined]
        keyword = inspect.Parameter.KEYWORD_ONLY
        return inspect.Parameter(self.name, keyword, default=None, annotation=annotation)


def gather(options: tuple[SettingOption, ...], given: dict[str, Any]) -> dict[str, Any]:
    """The settings the given option values (None: not given) stand for, nested by dotted path."""
    settings: dict[str, Any] = {}
    for option in options:
        value = given.get(option.name)
        if value is None:
            continue
        *sections, key = option.setting.split(".")
        place = settings
        for section in sections:
            place = place.setdefault(section, {})
        place[key] = value
    return settings


def with_setting_options(*options: SettingOption) -> Callable[[Command], Command]:
    """The decorator: the options join the command's signature in place of its `settings` parameter."""

    def decorate(command: Command) -> Command:
        own = inspect.signature(command, eval_str=True)  # typer needs the annotations as objects
        parameters: list[inspect.Parameter] = []
        for parameter in own.parameters.values():
            if parameter.name == "settings":
                parameters += [option.parameter() for option in options]
            else:  # keyword-only throughout: typer calls with keywords, and defaults may then interleave
                parameters.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY))
        names = {option.name for option in options}

        @functools.wraps(command)
        def with_settings(**given: Any) -> Any:
            rest = {name: value for name, value in given.items() if name not in names}
            return command(**rest, settings=gather(options, given))

        with_settings.__signature__ = own.replace(parameters=parameters)  # type: ignore[attr-defined]
        return with_settings  # type: ignore[return-value]

    return decorate
