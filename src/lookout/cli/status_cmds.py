"""``lookout status``: the site process a URL reaches, its role (active or standby) and who
holds the site lock."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.markup import escape

from lookout.cli.client import ApiClient, api_command
from lookout.cli.format import human_duration, print_json, stdout

ROLE_STYLE = {"active": "green", "standby": "yellow", "starting": "yellow"}


@api_command
def status(
    api: ApiClient,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON")] = False,
) -> None:
    """The site process you reach: its role (active, standby, starting) and since when, the
    database, whether the engine runs compiled, and on PostgreSQL which process holds the site
    lock (the active one)."""
    answer = api.get("/site")
    if as_json:
        print_json(answer)
        return
    out = stdout()
    role = answer["role"]
    since = human_duration(max(0.0, time.time() - answer["since"]))
    out.print(
        f"Site {escape(answer['site_name'])} (Lookout {escape(answer['version'])}) — "
        f"[{ROLE_STYLE.get(role, '')}]{role}[/] for {since}",
        soft_wrap=True,
    )
    proc = answer["process"]
    out.print(f"  process:  {escape(proc['host'])} pid {proc['pid']}", soft_wrap=True)
    out.print(f"  database: {escape(answer['database'])}", soft_wrap=True)
    out.print(f"  engine:   {escape(answer['engine']['detail'])}", soft_wrap=True)
    if answer["services"] is not None:
        out.print(f"  objects:  {answer['hosts']} hosts, {answer['services']} services")
    if not answer["standby_supported"]:
        out.print("  standby:  none (SQLite: one process)")
        return
    holder = answer["lock_holder"]
    if holder is None:
        out.print("  site lock: free (a standby takes it within a second)")
    elif "error" in holder:
        out.print(f"  site lock: [red]{escape(holder['error'])}[/]", soft_wrap=True)
    else:
        out.print(
            f"  site lock: held by {escape(holder['name'] or '?')}"
            f" from {escape(holder['address'] or 'local socket')}",
            soft_wrap=True,
        )


def register(app: typer.Typer) -> None:
    app.command()(status)
