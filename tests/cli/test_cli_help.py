"""Every command's ``--help`` reads as plain text: no type tags (``<str>``, ``<bool>``), no
reStructuredText backticks, and every group's one-line help names all of its commands."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import typer.main
from typer._click.core import Command
from typer.core import TyperGroup as Group
from typer.testing import CliRunner

from lookout.cli.main import app

TYPE_TAG = re.compile(r"<[a-z][\w\[\]|, .]*>")
"""What typer prints for a parameter's type: <str>, <bool>, <list[str]>, <viewer|admin>."""


def commands(
    command: Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Command]]:
    yield path, command
    if isinstance(command, Group):
        for name, sub in command.commands.items():
            if not sub.hidden:
                yield from commands(sub, (*path, name))


ROOT = typer.main.get_command(app)
ALL = dict(commands(ROOT))


def help_of(path: tuple[str, ...]) -> str:
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("path", list(ALL), ids=lambda p: " ".join(p) or "lookout")
def test_help_has_no_type_tags_and_no_backticks(path: tuple[str, ...]) -> None:
    text = help_of(path)
    assert TYPE_TAG.search(text) is None, TYPE_TAG.search(text)
    assert "``" not in text
    assert ":func:" not in text
    assert ":mod:" not in text


@pytest.mark.parametrize(
    "path", [p for p, c in ALL.items() if isinstance(c, Group) and p], ids=" ".join
)
def test_each_group_names_all_its_commands_in_the_top_level_help(path: tuple[str, ...]) -> None:
    group = ALL[path]
    assert isinstance(group, Group)
    short = group.get_short_help_str(limit=1000)
    missing = [n for n, c in group.commands.items() if not c.hidden and n not in short.lower()]
    assert not missing, f"{' '.join(path)}: {short!r} does not name {missing}"
    parent = help_of(path[:-1])
    assert short.split(":")[0] in parent


def test_the_walk_sees_the_commands_people_look_for() -> None:
    names = {" ".join(p) for p in ALL}
    assert {"user passwd", "downtime add", "kube connect", "host show"} <= names
