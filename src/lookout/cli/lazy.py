"""A command group that imports a command's module only when the command is used.

``lookout sites create`` should not pay for importing the Kubernetes client, the journeys and
every check type; so the top-level group knows its commands by name only (which module
registers each) and imports a module the first time one of its commands is looked up. Walking
every command (``commands.items()``, a group's help page) still imports them all.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Any, ClassVar

import typer
import typer.main
from typer._click.core import Command, Context
from typer.core import TyperGroup

PACKAGE = "lookout.cli"


class LazyCommands(MutableMapping[str, Command]):
    """Commands by name; a command not yet built is built by registering its modules."""

    def __init__(self, table: dict[str, tuple[str, ...]], built: dict[str, Command]) -> None:
        self.table = table
        self.built = built
        self.loaded: set[tuple[str, ...]] = set()

    def _load(self, modules: tuple[str, ...]) -> None:
        if modules in self.loaded:
            return
        self.loaded.add(modules)
        app = typer.Typer()
        for name in modules:
            importlib.import_module(f"{PACKAGE}.{name}").register(app)
        for name, command in typer.main.get_group(app).commands.items():
            self.built.setdefault(name, command)

    def __getitem__(self, name: str) -> Command:
        if name not in self.built and name in self.table:
            self._load(self.table[name])
        return self.built[name]

    def __setitem__(self, name: str, command: Command) -> None:
        self.built[name] = command

    def __delitem__(self, name: str) -> None:
        del self.built[name]
        self.table.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        yield from self.table
        yield from (n for n in self.built if n not in self.table)

    def __len__(self) -> int:
        return len(self.table.keys() | self.built.keys())

    def __contains__(self, name: object) -> bool:
        return name in self.table or name in self.built


class LazyGroup(TyperGroup):
    """A typer group whose commands come from ``table``: command name → the modules (under
    ``lookout.cli``) whose ``register(app)`` adds it. Subclasses set the table."""

    table: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(dict(self.table), dict(self.commands))

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.commands)
