"""Handling problems: ``problems``, ``ack``, ``unack``, ``downtime …``, ``comment``,
``recheck`` and ``events``."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from lookout.cli.client import ApiClient, api_command
from lookout.cli.format import (
    downtimes_table,
    events_table,
    param_parser,
    parse_duration,
    parse_time,
    parsed,
    print_answer,
    print_done,
    print_json,
    problems_view,
    stdout,
)
from lookout.domain.events import EventType

downtime_app = typer.Typer(help="Planned maintenance: add, list, remove.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON")]
HostArg = Annotated[str, typer.Argument(help="Host name", show_default=False)]
ServiceArg = Annotated[
    str | None, typer.Argument(help="Service name (omit for the host itself)", show_default=False)
]
CommentOpt = Annotated[str, typer.Option("--comment", "-c", help="Why", show_default=False)]
OptionalComment = Annotated[str, typer.Option("--comment", "-c", help="Why")]
Duration = Annotated[
    float | None,
    typer.Option(
        parser=param_parser(parse_duration),
        metavar="DURATION",
        show_default=False,
        help="Like 90s, 15m, 2h30m, 1d, 1w",
    ),
]
Time = Annotated[
    float | None,
    typer.Option(
        parser=param_parser(parse_time),
        metavar="TIME",
        show_default=False,
        help="ISO 8601 (local time unless it has a zone) or Unix seconds",
    ),
]


def _name(host: str, service: str | None) -> str:
    return f"{host}/{service}" if service else host


# ---------------------------------------------------------------------- problems
@api_command
def problems(
    api: ApiClient,
    host: Annotated[str | None, typer.Option(help="Only this host")] = None,
    unhandled: Annotated[bool, typer.Option("--unhandled", help="Hide handled problems")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Services not OK: unhandled first, then worst and oldest first. Handled ones are marked
    (ack, downtime, host downtime, host down)."""
    answer = api.get(
        "/services",
        {
            "problems": "true",
            "host": host,
            "handled": "false" if unhandled else None,
        },
    )
    if as_json:
        print_json(answer)
        return
    stdout().print(problems_view(answer["items"], time.time()))


# ---------------------------------------------------------------------- acknowledgements
@api_command
def ack(
    api: ApiClient,
    host: HostArg,
    comment: CommentOpt,
    service: ServiceArg = None,
    sticky: Annotated[
        bool, typer.Option(help="Keep it until OK (not only until the next state change)")
    ] = True,
    expire: Annotated[
        float | None,
        typer.Option(
            parser=param_parser(parse_duration),
            metavar="DURATION",
            show_default=False,
            help="Remove it after this long (2h, 1d12h)",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Acknowledge a problem: someone is on it, stop notifying."""
    expire_at = time.time() + expire if expire is not None else None
    answer = api.post(
        "/actions/acknowledge",
        {
            "host": host,
            "service": service,
            "comment": comment,
            "sticky": sticky,
            "expire_at": expire_at,
        },
    )
    print_answer(answer, as_json, f"{_name(host, service)} acknowledged")


@api_command
def unack(
    api: ApiClient,
    host: HostArg,
    service: ServiceArg = None,
    comment: OptionalComment = "",
    as_json: JsonOpt = False,
) -> None:
    """Remove an acknowledgement."""
    answer = api.post(
        "/actions/remove-acknowledgement", {"host": host, "service": service, "comment": comment}
    )
    print_answer(answer, as_json, f"acknowledgement of {_name(host, service)} removed")


# ---------------------------------------------------------------------- downtimes
def downtime_window(
    now: float, start: float | None, end: float | None, duration: float | None, flexible: bool
) -> dict[str, Any]:
    """Start, end and (flexible) duration of a downtime from what the user gave.

    Fixed: from ``start`` (default now) to ``end``, or for ``duration``. Flexible: starts at
    the first problem between ``start`` and ``end`` (default: start + duration) and then lasts
    ``duration``."""
    begin = now if start is None else start
    if flexible and duration is None:
        raise ValueError("a flexible downtime needs --duration (how long it lasts once started)")
    if end is None and duration is None:
        raise ValueError("give --duration (2h) or --end TIME")
    if not flexible and end is not None and duration is not None:
        raise ValueError("give either --duration or --end for a fixed downtime, not both")
    finish = end if end is not None else begin + (duration or 0.0)
    if finish <= begin:
        raise ValueError("the downtime must end after it starts")
    out: dict[str, Any] = {"start": begin, "end": finish, "fixed": not flexible}
    if flexible:
        out["duration"] = duration
    return out


@downtime_app.command("add")
@api_command
def downtime_add(
    api: ApiClient,
    host: HostArg,
    comment: CommentOpt,
    service: ServiceArg = None,
    duration: Duration = None,
    end: Time = None,
    start: Time = None,
    flexible: Annotated[
        bool, typer.Option("--flexible", help="Start at the first problem within start..end")
    ] = False,
    include_services: Annotated[
        bool, typer.Option("--include-services", help="Cover the host's services too")
    ] = False,
    recurrence: Annotated[
        str, typer.Option(metavar="CRON", help="Repeat, cron in UTC: '0 2 * * 0'")
    ] = "",
    as_json: JsonOpt = False,
) -> None:
    """Schedule a downtime: give --duration or --end (and --start, default now)."""
    window = parsed(
        lambda f: downtime_window(time.time(), start, end, duration, f),
        flexible,
        "--duration/--end",
    )
    answer = api.post(
        "/actions/schedule-downtime",
        {
            "host": host,
            "service": service,
            "comment": comment,
            **window,
            "include_services": include_services,
            "recurrence": recurrence,
        },
    )
    if as_json:
        print_json(answer)
        return
    ids = ", ".join(map(str, answer.get("ids", [])))
    print_done(f"downtime {ids} scheduled on {_name(host, service)}")


@downtime_app.command("list")
@api_command
def downtime_list(
    api: ApiClient,
    host: Annotated[str | None, typer.Option(help="Only this host")] = None,
    service: Annotated[str | None, typer.Option(help="Only this service")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List downtimes, the earliest first."""
    answer = api.get("/downtimes", {"host": host, "service": service})
    if as_json:
        print_json(answer)
        return
    stdout().print(downtimes_table(answer["items"], time.time()))


@downtime_app.command("remove")
@api_command
def downtime_remove(
    api: ApiClient,
    ids: Annotated[list[int], typer.Argument(metavar="ID...", help="Downtime ids")],
    comment: OptionalComment = "",
    as_json: JsonOpt = False,
) -> None:
    """Remove (cancel) downtimes."""
    answer = api.post("/actions/remove-downtime", {"ids": ids, "comment": comment})
    removed = answer.get("ids", ids) if isinstance(answer, dict) else ids
    print_answer(answer, as_json, f"downtime {', '.join(map(str, removed))} removed")


# ---------------------------------------------------------------------- comments, rechecks
def split_comment(args: list[str]) -> tuple[str, str | None, str]:
    """``HOST [SERVICE] TEXT`` → (host, service or None, text)."""
    if len(args) == 2:
        return args[0], None, args[1]
    if len(args) == 3:
        return args[0], args[1], args[2]
    raise ValueError(
        f"expected HOST [SERVICE] TEXT, got {len(args)} argument(s) (quote text with spaces)"
    )


@api_command
def add_comment(
    api: ApiClient,
    args: Annotated[list[str], typer.Argument(metavar="HOST [SERVICE] TEXT", show_default=False)],
    as_json: JsonOpt = False,
) -> None:
    """Add a comment to a host or service."""
    host, service, text = parsed(split_comment, args, "HOST [SERVICE] TEXT")
    answer = api.post("/actions/comment", {"host": host, "service": service, "comment": text})
    print_answer(answer, as_json, f"comment added to {_name(host, service)}")


@api_command
def remove_comment(
    api: ApiClient,
    ids: Annotated[
        list[int], typer.Argument(metavar="ID...", help="Comment ids (lookout comments)")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Remove comments by id."""
    answer = api.post("/actions/remove-comment", {"ids": ids})
    removed = answer.get("ids", ids) if isinstance(answer, dict) else ids
    print_answer(answer, as_json, f"comment {', '.join(map(str, removed))} removed")


@api_command
def recheck(
    api: ApiClient,
    host: HostArg,
    service: ServiceArg = None,
    comment: OptionalComment = "",
    as_json: JsonOpt = False,
) -> None:
    """Run the check now (active checks only; passive ones wait for their next result)."""
    answer = api.post("/actions/recheck", {"host": host, "service": service, "comment": comment})
    print_answer(answer, as_json, f"recheck of {_name(host, service)} requested")


# ---------------------------------------------------------------------- events
def event_types(values: list[str]) -> list[str]:
    known = [t.value for t in EventType]
    for v in values:
        if v not in known:
            raise ValueError(f"event type {v!r}: expected one of {', '.join(known)}")
    return values


@api_command
def events(
    api: ApiClient,
    host: Annotated[str | None, typer.Option(help="Only this host")] = None,
    service: Annotated[
        str | None, typer.Option(help="Only this service ('' for host events)")
    ] = None,
    since: Annotated[
        float | None,
        typer.Option(
            parser=param_parser(parse_duration),
            metavar="DURATION",
            help="Only the last 1h, 2h30m, 1d, …  [default: all kept]",
            show_default=False,
        ),
    ] = None,
    type_: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            "-t",
            help="Event type, repeatable (state_change, ack_set, …)",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """The event log, newest first."""
    types = parsed(event_types, type_ or [], "--type")
    now = time.time()
    answer = api.get(
        "/events",
        {
            "host": host,
            "service": service,
            "type": types,
            "limit": limit,
            "start": None if since is None else f"{now - since:.3f}",
        },
    )
    if as_json:
        print_json(answer)
        return
    stdout().print(events_table(answer["items"], now))


def register(app: typer.Typer) -> None:
    app.command("problems")(problems)
    app.command("ack")(ack)
    app.command("unack")(unack)
    app.add_typer(downtime_app, name="downtime")
    app.command("comment")(add_comment)
    app.command("uncomment")(remove_comment)
    app.command("recheck")(recheck)
    app.command("events")(events)
