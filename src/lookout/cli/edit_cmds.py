"""``lookout host edit`` and ``lookout service edit``: change what is monitored (the API's
PATCH). Only the options given change; a list option (``--label``, ``--parent``, ``--group``)
replaces the whole list."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from lookout.cli.client import ApiClient, api_command, path_of
from lookout.cli.details import service_view
from lookout.cli.format import (
    param_parser,
    parse_interval,
    parse_json_object,
    parse_labels,
    parsed,
    print_done,
    print_json,
    stdout,
)
from lookout.cli.objects_cmds import HostArg, JsonOpt, host_app, service_app

ServiceArg = Annotated[str, typer.Argument(help="Service name", show_default=False)]
Interval = Annotated[
    float | None,
    typer.Option(
        parser=param_parser(parse_interval),
        metavar="DURATION",
        show_default=False,
        help="Check interval: seconds or 90s, 5m, 1h30m",
    ),
]
RetryInterval = Annotated[
    float | None,
    typer.Option(
        parser=param_parser(parse_interval),
        metavar="DURATION",
        show_default=False,
        help="Interval while a problem is soft",
    ),
]
Attempts = Annotated[
    int | None,
    typer.Option(min=1, max=100, show_default=False, help="Attempts before a problem is hard"),
]
CheckJson = Annotated[
    str | None,
    typer.Option(show_default=False, help='Active check, e.g. \'{"type": "tcp", "port": 22}\''),
]
Passive = Annotated[bool, typer.Option("--passive", help="No check: wait for submitted results")]
Labels = Annotated[
    list[str] | None,
    typer.Option(
        "--label",
        "-l",
        metavar="KEY=VALUE",
        show_default=False,
        help="Repeatable; replaces all labels",
    ),
]
Handler = Annotated[
    str | None,
    typer.Option(show_default=False, help="Command run on every state change"),
]
HandlerArgs = Annotated[
    list[str] | None,
    typer.Option(show_default=False, help="$ARGn$ of the event handler, repeatable"),
]
NoHandler = Annotated[bool, typer.Option("--no-event-handler", help="Remove the event handler")]


def patch_body(fields: dict[str, Any], *more: dict[str, Any]) -> dict[str, Any]:
    """The PATCH body: the ``fields`` that were given (None: not given), then ``more`` (where
    None means "remove")."""
    body = {key: value for key, value in fields.items() if value is not None}
    for part in more:
        body.update(part)
    if not body:
        raise typer.BadParameter("nothing to change: give at least one option (see --help)")
    return body


def check_change(check_json: str | None, passive: bool) -> dict[str, Any]:
    """``{"check": …}`` for ``--check-json`` or ``--passive`` (null: no check), else ``{}``."""
    if check_json is not None and passive:
        raise typer.BadParameter("give --check-json or --passive, not both")
    if passive:
        return {"check": None}
    if check_json is None:
        return {}
    return {"check": parsed(lambda t: parse_json_object(t, "check"), check_json, "--check-json")}


def handler_change(command: str | None, args: list[str] | None, remove: bool) -> dict[str, Any]:
    if command is not None and remove:
        raise typer.BadParameter("give --event-handler or --no-event-handler, not both")
    if remove:
        return {"event_handler": None}
    if command is None:
        if args:
            raise typer.BadParameter("--handler-arg needs --event-handler")
        return {}
    return {"event_handler": {"command": command, "args": args or []}}


@host_app.command("edit")
@api_command
def host_edit(
    api: ApiClient,
    name: HostArg,
    address: Annotated[str | None, typer.Option(help="DNS name or IP", show_default=False)] = None,
    label: Labels = None,
    parent: Annotated[
        list[str] | None,
        typer.Option(help="Parent host, repeatable; replaces all parents", show_default=False),
    ] = None,
    group: Annotated[
        list[str] | None,
        typer.Option(help="Host group, repeatable; replaces all groups", show_default=False),
    ] = None,
    check_json: CheckJson = None,
    passive: Passive = False,
    interval: Interval = None,
    retry_interval: RetryInterval = None,
    max_check_attempts: Attempts = None,
    event_handler: Handler = None,
    handler_arg: HandlerArgs = None,
    no_event_handler: NoHandler = False,
    as_json: JsonOpt = False,
) -> None:
    """Change a host: only the options given change."""
    body = patch_body(
        {
            "address": address,
            "labels": None if label is None else parsed(parse_labels, label, "--label"),
            "parents": parent,
            "groups": group,
            "check_interval": interval,
            "retry_interval": retry_interval,
            "max_check_attempts": max_check_attempts,
        },
        check_change(check_json, passive),
        handler_change(event_handler, handler_arg, no_event_handler),
    )
    answer = api.patch(path_of("hosts", name), body)
    if as_json:
        print_json(answer)
        return
    print_done(f"host {name} changed: {', '.join(body)}")


@service_app.command("show")
@api_command
def service_show(api: ApiClient, host: HostArg, name: ServiceArg, as_json: JsonOpt = False) -> None:
    """A service: state, check, labels, params and its current metrics."""
    answer = api.get(path_of("hosts", host, "services", name))
    if as_json:
        print_json(answer)
        return
    stdout().print(service_view(answer, time.time()))


@service_app.command("edit")
@api_command
def service_edit(
    api: ApiClient,
    host: HostArg,
    name: ServiceArg,
    check_json: CheckJson = None,
    passive: Passive = False,
    interval: Interval = None,
    retry_interval: RetryInterval = None,
    max_check_attempts: Attempts = None,
    stale_after: Annotated[
        float | None,
        typer.Option(
            min=0, max=1000, show_default=False, help="UNKNOWN after this many intervals (0: never)"
        ),
    ] = None,
    params_json: Annotated[
        str | None,
        typer.Option(show_default=False, help="Check parameters, e.g. '{\"levels\": [85, 95]}'"),
    ] = None,
    label: Labels = None,
    event_handler: Handler = None,
    handler_arg: HandlerArgs = None,
    no_event_handler: NoHandler = False,
    as_json: JsonOpt = False,
) -> None:
    """Change a service: only the options given change."""
    params = None
    if params_json is not None:
        params = parsed(lambda t: parse_json_object(t, "params"), params_json, "--params-json")
    body = patch_body(
        {
            "check_interval": interval,
            "retry_interval": retry_interval,
            "max_check_attempts": max_check_attempts,
            "stale_after": stale_after,
            "params": params,
            "labels": None if label is None else parsed(parse_labels, label, "--label"),
        },
        check_change(check_json, passive),
        handler_change(event_handler, handler_arg, no_event_handler),
    )
    answer = api.patch(path_of("hosts", host, "services", name), body)
    if as_json:
        print_json(answer)
        return
    print_done(f"service {host}/{name} changed: {', '.join(body)}")


def register(app: typer.Typer) -> None:
    """The commands join the ``host`` and ``service`` groups of :mod:`objects_cmds`."""
    del app
