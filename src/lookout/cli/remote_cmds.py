"""A central site over many sites (issue 12): ``lookout remote add|list|remove`` (the remote
sites this one shows) and ``lookout central problems|services|hosts|ack|downtime|comment|
recheck`` (every site's objects, and actions carried out by the site that owns them)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from lookout.cli.client import ApiClient, api_command, path_of
from lookout.cli.format import (
    handled_marks,
    human_duration,
    param_parser,
    parse_duration,
    print_answer,
    print_done,
    print_json,
    relative,
    state_text,
    stdout,
)

remote_app = typer.Typer(
    help="Remote sites this (central) site shows: add, list, remove.", no_args_is_help=True
)
central_app = typer.Typer(
    help="Every site's problems, services, hosts; ack, downtime, comment, recheck on them.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON")]
OnlyOpt = Annotated[
    str | None, typer.Option("--only", help="Only this site (this one's or a remote's name)")
]
SiteArg = Annotated[
    str, typer.Argument(metavar="SITE", help="The site that owns the object", show_default=False)
]
HostArg = Annotated[str, typer.Argument(help="Host name", show_default=False)]
ServiceArg = Annotated[
    str | None, typer.Argument(help="Service name (omit for the host itself)", show_default=False)
]
CommentOpt = Annotated[str, typer.Option("--comment", "-c", help="Why", show_default=False)]


# ---------------------------------------------------------------------- remote
@remote_app.command("add")
@api_command
def add(
    api: ApiClient,
    name: Annotated[str, typer.Argument(help="How this site calls the remote", show_default=False)],
    remote_url: Annotated[
        str, typer.Argument(metavar="URL", help="The remote's URL, https://…", show_default=False)
    ],
    remote_token: Annotated[
        str,
        typer.Option(
            "--remote-token",
            envvar="LOOKOUT_REMOTE_TOKEN",
            help="An operator token of the remote (stored sealed, never shown)",
            show_default=False,
        ),
    ],
    ca: Annotated[
        Path | None, typer.Option(help="PEM CA the remote's TLS certificate must chain to")
    ] = None,
    allow_http: Annotated[
        bool, typer.Option("--allow-http", help="Allow http:// (the token travels in clear)")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show a remote site's hosts, services and problems here, and act on them through it."""
    body = {
        "name": name,
        "url": remote_url,
        "token": remote_token,
        "ca": ca.read_text() if ca else "",
        "allow_http": allow_http,
    }
    answer = api.post("/remotes", body)
    print_answer(answer, as_json, f"remote site {name} added ({remote_url})")


@remote_app.command("list")
@api_command
def list_(api: ApiClient, as_json: JsonOpt = False) -> None:
    """The remote sites: answering or not (since when the data is stale, the last error)."""
    answer = api.get("/remotes")
    if as_json:
        print_json(answer)
        return
    stdout().print(remotes_table(answer["items"], time.time()))


def remotes_table(rows: list[dict[str, Any]], now: float) -> Table:
    table = Table("Remote", "URL", "State", "Synced", "Objects", "Problems", "Error")
    for r in rows:
        state = r["state"]
        shown = {"ok": "[green]ok[/]", "connecting": "connecting"}.get(state, f"[red]{state}[/]")
        if r.get("stale_since"):
            shown += f" (stale since {relative(r['stale_since'], now)})"
        table.add_row(
            escape(r["name"]),
            escape(r["url"]),
            shown,
            relative(r.get("synced_at"), now),
            str(r["objects"]),
            str(r["problems"]),
            escape(r.get("error") or ""),
        )
    return table


@remote_app.command("remove")
@api_command
def remove(api: ApiClient, name: Annotated[str, typer.Argument(show_default=False)]) -> None:
    """Stop showing a remote site (nothing changes on the remote)."""
    api.delete(path_of("remotes", name))
    print_done(f"remote site {name} removed")


# ---------------------------------------------------------------------- central reads
def _rows_table(items: list[dict[str, Any]], now: float, *, hosts: bool, title: str) -> Table:
    heads = ["Site", "Host"] + ([] if hosts else ["Service"])
    table = Table(*heads, "State", "Since", "Handled", "Summary", title=title)
    for i in items:
        cells = [escape(i["site"]), escape(i["host"])] + ([] if hosts else [escape(i["service"])])
        table.add_row(
            *cells,
            _state(i),
            relative(i.get("last_state_change"), now),
            ", ".join(handled_marks(i)),
            escape(i.get("summary") or ""),
        )
    return table


def _state(item: dict[str, Any]) -> Text:
    text = state_text(str(item.get("state_name", "")))
    if item.get("state_type") == "soft" and item.get("checked"):
        text.append(f" (soft {item.get('attempt', '?')})", style="dim")
    return text


def _print_sites(sites: list[dict[str, Any]], now: float) -> None:
    for s in sites:
        if s["state"] != "ok":
            since = s.get("stale_since")
            stale = f", data stale since {human_duration(now - since)} ago" if since else ""
            stdout().print(
                f"[red]remote {escape(s['name'])}: {s['state']}{stale}[/] "
                f"{escape(s.get('error') or '')}",
                soft_wrap=True,
            )


@central_app.command("problems")
@api_command
def problems(
    api: ApiClient,
    only: OnlyOpt = None,
    unhandled: Annotated[bool, typer.Option("--unhandled", help="Hide handled problems")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Problems of this site and its remotes: unhandled first, worst and oldest on top."""
    answer = api.get("/central/problems", {"site": only, "handled": "false" if unhandled else None})
    if as_json:
        print_json(answer)
        return
    now = time.time()
    _print_sites(answer["sites"], now)
    title = f"{answer['total']} problems"
    stdout().print(_rows_table(answer["items"], now, hosts=False, title=title))


@central_app.command("services")
@api_command
def services(
    api: ApiClient,
    only: OnlyOpt = None,
    host: Annotated[str | None, typer.Option(help="Only this host")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Services of this site and its remotes."""
    answer = api.get("/central/services", {"site": only, "host": host})
    if as_json:
        print_json(answer)
        return
    now = time.time()
    _print_sites(answer["sites"], now)
    stdout().print(_rows_table(answer["items"], now, hosts=False, title=f"{answer['total']}"))


@central_app.command("hosts")
@api_command
def hosts(api: ApiClient, only: OnlyOpt = None, as_json: JsonOpt = False) -> None:
    """Hosts of this site and its remotes."""
    answer = api.get("/central/hosts", {"site": only})
    if as_json:
        print_json(answer)
        return
    now = time.time()
    _print_sites(answer["sites"], now)
    stdout().print(_rows_table(answer["items"], now, hosts=True, title=f"{answer['total']}"))


# ---------------------------------------------------------------------- central actions
def _name(site: str, host: str, service: str | None) -> str:
    return f"{site}: {host}/{service}" if service else f"{site}: {host}"


@central_app.command("ack")
@api_command
def ack(
    api: ApiClient,
    owner: SiteArg,
    host: HostArg,
    comment: CommentOpt,
    service: ServiceArg = None,
    as_json: JsonOpt = False,
) -> None:
    """Acknowledge a problem on the site that owns it."""
    body = {"site": owner, "host": host, "service": service, "comment": comment}
    answer = api.post("/central/actions/acknowledge", body)
    print_answer(answer, as_json, f"{_name(owner, host, service)} acknowledged")


@central_app.command("downtime")
@api_command
def downtime(
    api: ApiClient,
    owner: SiteArg,
    host: HostArg,
    comment: CommentOpt,
    duration: Annotated[
        float,
        typer.Option(
            parser=param_parser(parse_duration),
            metavar="DURATION",
            help="Like 90s, 15m, 2h30m, 1d",
        ),
    ],
    service: ServiceArg = None,
    as_json: JsonOpt = False,
) -> None:
    """Schedule a downtime from now on the site that owns the object."""
    start = time.time()
    body = {
        "site": owner,
        "host": host,
        "service": service,
        "comment": comment,
        "start": start,
        "end": start + duration,
    }
    answer = api.post("/central/actions/schedule-downtime", body)
    print_answer(answer, as_json, f"downtime on {_name(owner, host, service)}")


@central_app.command("comment")
@api_command
def comment(
    api: ApiClient,
    owner: SiteArg,
    host: HostArg,
    text: CommentOpt,
    service: ServiceArg = None,
    as_json: JsonOpt = False,
) -> None:
    """Comment on an object of any site."""
    body = {"site": owner, "host": host, "service": service, "comment": text}
    answer = api.post("/central/actions/comment", body)
    print_answer(answer, as_json, f"comment on {_name(owner, host, service)}")


@central_app.command("recheck")
@api_command
def recheck(
    api: ApiClient,
    owner: SiteArg,
    host: HostArg,
    service: ServiceArg = None,
    as_json: JsonOpt = False,
) -> None:
    """Run an object's check now, on the site that owns it."""
    answer = api.post("/central/actions/recheck", {"site": owner, "host": host, "service": service})
    print_answer(answer, as_json, f"recheck of {_name(owner, host, service)} asked")


def register(app: typer.Typer) -> None:
    app.add_typer(remote_app, name="remote")
    app.add_typer(central_app, name="central")
