"""``lookout audit``: the site's audit log — list, export as JSON lines, verify the chain."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from lookout.cli.client import ApiClient, SiteOpt, TokenOpt, UrlOpt, api_command
from lookout.cli.format import (
    local_time,
    param_parser,
    parse_duration,
    parse_time,
    print_done,
    print_error,
    print_json,
    stdout,
)

audit_app = typer.Typer(
    help="The audit log (admins): who changed what, when, from where; export, verify.",
    no_args_is_help=False,
)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON")]


def when(text: str) -> float:
    """A duration ago (``1h``, ``7d``) or a time (Unix seconds, ISO 8601)."""
    try:
        return time.time() - parse_duration(text)
    except ValueError:
        pass
    try:
        return parse_time(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is neither a duration (1h, 7d) nor a time: {exc}") from None


TimeOpt = Annotated[
    float | None,
    typer.Option(
        parser=param_parser(when),
        metavar="WHEN",
        show_default=False,
        help="A duration ago (1h, 7d) or a time (Unix seconds, ISO 8601)",
    ),
]
ActorOpt = Annotated[str | None, typer.Option(help="Only this user", show_default=False)]
ObjectOpt = Annotated[
    str | None,
    typer.Option(
        "--object", help="Only this object (a host: with its services)", show_default=False
    ),
]
ChannelOpt = Annotated[
    str | None,
    typer.Option(help="Only api, ui, cli, chat, livestatus, import, config-apply or system"),
]
KindOpt = Annotated[
    str | None, typer.Option(help="Only this kind (host, service, downtime, user…)")
]


def _filters(
    since: float | None,
    until: float | None,
    actor: str | None,
    obj: str | None,
    channel: str | None,
    kind: str | None,
) -> dict[str, Any]:
    return {
        "since": f"{since:.3f}" if since is not None else None,
        "until": f"{until:.3f}" if until is not None else None,
        "actor": actor,
        "object": obj,
        "channel": channel,
        "kind": kind,
    }


@api_command
def _show(
    api: ApiClient,
    since: float | None,
    until: float | None,
    actor: str | None,
    obj: str | None,
    channel: str | None,
    kind: str | None,
    limit: int,
    as_json: bool,
) -> None:
    params = _filters(since, until, actor, obj, channel, kind)
    answer = api.get("/audit", {**params, "limit": limit})
    if as_json:
        print_json(answer)
        return
    stdout().print(audit_table(answer["items"]))


def audit_table(items: list[dict[str, Any]]) -> Table:
    table = Table(box=None, pad_edge=False)
    for col in ("when", "who", "channel", "from", "what", "object", "summary"):
        table.add_column(col, overflow="fold")
    for e in items:
        table.add_row(
            local_time(e["at"]),
            e["actor"],
            e["channel"],
            e["address"],
            f"{e['kind']} {e['verb']}",
            e["object"],
            e["summary"],
        )
    return table


@audit_app.callback(invoke_without_command=True)
def audit(
    ctx: typer.Context,
    since: TimeOpt = None,
    until: TimeOpt = None,
    actor: ActorOpt = None,
    obj: ObjectOpt = None,
    channel: ChannelOpt = None,
    kind: KindOpt = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many")] = 100,
    as_json: JsonOpt = False,
    site: SiteOpt = None,
    url: UrlOpt = None,
    token: TokenOpt = None,
) -> None:
    """The newest audit entries first: when, who, through which channel, from which address,
    what was done to which object."""
    if ctx.invoked_subcommand is not None:
        return
    show: Callable[..., None] = _show  # api_command added the connection options
    show(since, until, actor, obj, channel, kind, limit, as_json, site=site, url=url, token=token)


@audit_app.command("export")
@api_command
def export(
    api: ApiClient,
    file: Annotated[Path, typer.Argument(help="Write the entries here ('-': standard output)")],
    since: TimeOpt = None,
    until: TimeOpt = None,
    actor: ActorOpt = None,
    obj: ObjectOpt = None,
    channel: ChannelOpt = None,
    kind: KindOpt = None,
) -> None:
    """Every matching entry, oldest first, as JSON lines (each with its chain hash)."""
    params = _filters(since, until, actor, obj, channel, kind)
    if str(file) == "-":
        api.stream_to("/audit.jsonl", sys.stdout.buffer, params)
        return
    with file.open("wb") as out:
        size = api.stream_to("/audit.jsonl", out, params)
    print_done(f"audit log written to {file} ({size} bytes)")


@audit_app.command("verify")
@api_command
def verify(api: ApiClient, as_json: JsonOpt = False) -> None:
    """Check the hash chain of the whole log (exit code 1 when an entry was changed, removed
    or inserted). Keep the head hash it prints elsewhere to notice entries cut off the end."""
    answer = api.get("/audit/verify")
    if as_json:
        print_json(answer)
    elif answer["ok"]:
        print_done(f"{answer['rows']} entries, chain intact; head {answer['head']}")
    else:
        print_error(
            f"the chain is broken at {len(answer['breaks'])} place(s)",
            [f"entry {b['id']}: {b['why']}" for b in answer["breaks"]],
        )
    if not answer["ok"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
