"""The top-level group imports a command's module only when the command is used, and its table
names every command the modules register (a command left out of it would be unreachable)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import lookout.cli
from lookout.cli.main import COMMANDS

CLI_DIR = Path(lookout.cli.__file__).parent

EAGER = """
import importlib, json, sys, typer, typer.main
from typer.core import TyperGroup
app = typer.Typer()
for name in sys.argv[1:]:
    importlib.import_module("lookout.cli." + name).register(app)
found = {}
todo = [((), typer.main.get_group(app))]
while todo:
    path, command = todo.pop()
    if isinstance(command, TyperGroup):
        todo += [((*path, n), c) for n, c in command.commands.items()]
    else:
        found[" ".join(path)] = command.callback.__module__
print(json.dumps(found))
"""
"""Every command of the tree the modules make when all are registered, as ``main`` did before
it loaded them lazily, with the module of its function; in a fresh interpreter (``user_cmds``
adds to a group of ``admin_cmds`` each time it registers, so not in the test's process)."""

IMPORTED = """
import json, sys
from lookout.cli.main import app
try:
    app(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def run_python(code: str, *args: str) -> object:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_the_table_names_the_modules_of_every_command() -> None:
    modules = sorted(p.stem for p in CLI_DIR.glob("*_cmds.py"))
    found = run_python(EAGER, *modules)
    assert isinstance(found, dict)
    assert {path.split()[0] for path in found} == set(COMMANDS)
    for path, module in found.items():
        top = path.split()[0]
        assert module.removeprefix("lookout.cli.") in COMMANDS[top], (
            f"lookout {path} is defined in {module}, not named for {top!r} in main.COMMANDS"
        )
    assert {m for ms in COMMANDS.values() for m in ms} == set(modules)


@pytest.mark.parametrize(
    ("argv", "modules"),
    [
        (["sites", "create", "--help"], {"sites_cmds", "site_cmds"}),
        (["serve", "--help"], {"site_cmds"}),
    ],
    ids=["sites create", "serve"],
)
def test_a_command_imports_only_its_own_module(argv: list[str], modules: set[str]) -> None:
    imported = run_python(IMPORTED, *argv)
    assert isinstance(imported, list)
    commands = {m for m in imported if m.startswith("lookout.cli.") and m.endswith("_cmds")}
    assert commands == {f"lookout.cli.{m}" for m in modules}
    for heavy in ("lookout.config", "lookout.sites.site", "lookout.checks.active", "httpx"):
        assert heavy not in imported, f"lookout {' '.join(argv)} imported {heavy}"


def test_the_top_level_help_lists_every_command() -> None:
    from typer.testing import CliRunner

    from lookout.cli.main import app

    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    listed = {line.split()[1] for line in result.output.splitlines() if line.startswith("│ ")}
    assert set(COMMANDS) <= listed
