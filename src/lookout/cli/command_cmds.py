"""``lookout command …``: the site's command definitions (what Nagios checks run)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from lookout.cli.client import ApiClient, api_command, path_of
from lookout.cli.format import print_done, print_json, stdout

command_app = typer.Typer(
    help="Command definitions for Nagios plugin checks: add, list, show, remove.",
    no_args_is_help=True,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON")]
NameArg = Annotated[str, typer.Argument(help="Command name (check_tcp)", show_default=False)]


@command_app.command("add")
@api_command
def add(
    api: ApiClient,
    name: NameArg,
    line: Annotated[
        str,
        typer.Argument(
            help="Command line, quoted: '$USER1$/check_tcp -H $HOSTADDRESS$ -p $ARG1$'",
            show_default=False,
        ),
    ],
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace the line of an existing command too")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Define a command; services run it with {"type": "nagios", "command": NAME, "args": [...]}."""
    if replace:
        answer = api.put(path_of("commands", name), {"command_line": line})
    else:
        answer = api.post("/commands", {"name": name, "command_line": line})
    if as_json:
        print_json(answer)
        return
    print_done(f"command {name} {'set' if replace else 'added'}: {' '.join(answer['argv'])}")
    stdout().print(
        f"  use it: lookout service add HOST SERVICE --check-json "
        f'\'{{"type": "nagios", "command": "{name}", "args": [...]}}\'',
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@command_app.command("list")
@api_command
def list_commands(api: ApiClient, as_json: JsonOpt = False) -> None:
    """The site's command definitions and how many checks use each."""
    answer = api.get("/commands")
    if as_json:
        print_json(answer)
        return
    table = Table()
    for col in ("command", "command line", "used by"):
        table.add_column(col)
    for c in answer["items"]:
        table.add_row(c["name"], Text(c["command_line"]), str(len(c["used_by"])))
    stdout().print(table)


@command_app.command("show")
@api_command
def show(api: ApiClient, name: NameArg, as_json: JsonOpt = False) -> None:
    """One command: its line, its words after splitting, the checks that use it."""
    c = api.get(path_of("commands", name))
    if as_json:
        print_json(c)
        return
    out = stdout()
    out.print(Text(c["name"], style="bold"))
    out.print(Text(f"  line     {c['command_line']}"))
    for i, word in enumerate(c["argv"]):
        out.print(Text(f"  argv[{i}]  {word}"))
    out.print(Text(f"  used by  {', '.join(c['used_by']) or '-'}"))


@command_app.command("remove")
@api_command
def remove(api: ApiClient, name: NameArg) -> None:
    """Remove a command (refused while checks use it)."""
    api.delete(path_of("commands", name))
    print_done(f"command {name} removed")


def register(app: typer.Typer) -> None:
    app.add_typer(command_app, name="command")
