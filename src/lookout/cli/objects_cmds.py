"""``lookout host …``, ``lookout service …`` and ``lookout submit``: what is monitored, and
passive results for it."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from lookout.cli.client import ApiClient, api_command, path_of
from lookout.cli.format import host_view as host_details
from lookout.cli.format import (
    hosts_table,
    param_parser,
    parse_interval,
    parse_json_object,
    parse_labels,
    parsed,
    print_answer,
    print_done,
    print_json,
    services_table,
    stdout,
)
from lookout.domain.states import parse_state, state_name

host_app = typer.Typer(
    help="Hosts: add, list, show, edit, remove, agent-token, deregister.", no_args_is_help=True
)
service_app = typer.Typer(
    help="Services of hosts: add, list, show, edit, remove.", no_args_is_help=True
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON")]
HostArg = Annotated[str, typer.Argument(help="Host name", show_default=False)]
LabelOpt = Annotated[
    list[str] | None,
    typer.Option("--label", "-l", metavar="KEY=VALUE", help="Repeatable", show_default=False),
]
StateOpt = Annotated[
    list[str] | None,
    typer.Option("--state", "-s", help="State name or number, repeatable", show_default=False),
]


# ---------------------------------------------------------------------- hosts
@host_app.command("add")
@api_command
def host_add(
    api: ApiClient,
    name: HostArg,
    address: Annotated[str, typer.Option(help="DNS name or IP (default: the name)")] = "",
    label: LabelOpt = None,
    parent: Annotated[
        list[str] | None, typer.Option(help="Parent host, repeatable", show_default=False)
    ] = None,
    group: Annotated[
        list[str] | None, typer.Option(help="Host group, repeatable", show_default=False)
    ] = None,
    agent: Annotated[
        bool, typer.Option("--agent", help="Monitor it with the push agent: print its token")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add a host (--agent: with a one-time registration token for its push agent)."""
    created = api.post(
        "/hosts",
        {
            "name": name,
            "address": address,
            "labels": parsed(parse_labels, label or [], "--label"),
            "parents": parent or [],
            "groups": group or [],
        },
    )
    if agent:
        from lookout.cli.agent_cmds import print_token, request_token

        token = request_token(api, name)
        if as_json:
            print_json({**created, "agent": token})
            return
        print_done(f"host {name} added")
        print_token(token)
        return
    if as_json:
        print_json(created)
        return
    print_done(f"host {name} added")


@host_app.command("list")
@api_command
def host_list(
    api: ApiClient,
    label: LabelOpt = None,
    state: StateOpt = None,
    name: Annotated[str | None, typer.Option(help="Substring of the name")] = None,
    group: Annotated[str | None, typer.Option(help="Host group")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List hosts (filters combine with AND)."""
    parsed(parse_labels, label or [], "--label")
    answer = api.get("/hosts", {"label": label, "state": state, "name": name, "group": group})
    if as_json:
        print_json(answer)
        return
    stdout().print(hosts_table(answer["items"], time.time()))


@host_app.command("show")
@api_command
def host_show(api: ApiClient, name: HostArg, as_json: JsonOpt = False) -> None:
    """A host and its services (--json: {"host": {...}, "services": [...]})."""
    host = api.get(path_of("hosts", name))
    services = api.get(path_of("hosts", name, "services"))["items"]
    if as_json:
        print_json({"host": host, "services": services})
        return
    stdout().print(host_details(host, services, time.time()))


@host_app.command("remove")
@api_command
def host_remove(
    api: ApiClient,
    name: HostArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask")] = False,
) -> None:
    """Remove a host with all its services and their state."""
    if not yes:
        typer.confirm(f"Remove host {name} and all its services?", abort=True)
    api.delete(path_of("hosts", name))
    print_done(f"host {name} removed")


# ---------------------------------------------------------------------- services
@service_app.command("add")
@api_command
def service_add(
    api: ApiClient,
    host: HostArg,
    name: Annotated[str, typer.Argument(help="Service name", show_default=False)],
    max_check_attempts: Annotated[
        int | None, typer.Option(min=1, max=100, help="Attempts before a problem is hard")
    ] = None,
    interval: Annotated[
        float | None,
        typer.Option(
            parser=param_parser(parse_interval),
            metavar="DURATION",
            help="Check interval: seconds or 90s, 5m, …",
        ),
    ] = None,
    check_json: Annotated[
        str | None,
        typer.Option(help='Active check, e.g. \'{"type": "tcp", "port": 22}\' (default: passive)'),
    ] = None,
    label: LabelOpt = None,
    event_handler: Annotated[
        str | None,
        typer.Option(help="Command run on every state change (see: lookout command add)"),
    ] = None,
    handler_arg: Annotated[
        list[str] | None,
        typer.Option(help="$ARGn$ of the event handler, repeatable", show_default=False),
    ] = None,
    depends_on: Annotated[
        list[str] | None,
        typer.Option(
            metavar="HOST/SERVICE",
            help="A service whose problem this one's problem follows from, repeatable",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a service to a host (passive unless it has a check)."""
    check = parsed(parse_check, check_json, "--check-json")
    body: dict[str, Any] = {
        "name": name,
        "max_check_attempts": max_check_attempts,
        "check_interval": interval,
        "check": check,
        "labels": parsed(parse_labels, label or [], "--label"),
    }
    if event_handler is not None:
        body["event_handler"] = {"command": event_handler, "args": handler_arg or []}
    if depends_on:
        body["depends_on"] = parsed(parse_service_refs, depends_on, "--depends-on")
    created = api.post(path_of("hosts", host, "services"), body)
    if as_json:
        print_json(created)
        return
    kind = "active" if check is not None else "passive"
    print_done(f"service {host}/{name} added ({kind})")


def parse_service_refs(texts: list[str]) -> list[dict[str, str]]:
    """``HOST/SERVICE`` references (host names have no '/', service names may)."""
    refs = []
    for text in texts:
        host, sep, service = text.partition("/")
        if not (host and sep and service):
            raise ValueError(f"{text!r}: expected HOST/SERVICE")
        refs.append({"host": host, "service": service})
    return refs


def parse_check(text: str | None) -> dict[str, Any] | None:
    return None if text is None else parse_json_object(text, "check")


@service_app.command("list")
@api_command
def service_list(
    api: ApiClient,
    host: Annotated[str | None, typer.Option(help="Only this host")] = None,
    state: StateOpt = None,
    problems: Annotated[bool, typer.Option("--problems", help="Only services not OK")] = False,
    unhandled: Annotated[
        bool, typer.Option("--unhandled", help="Only not acknowledged, not in downtime, host up")
    ] = False,
    label: LabelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List services (filters combine with AND)."""
    parsed(parse_labels, label or [], "--label")
    answer = api.get(
        "/services",
        {
            "host": host,
            "state": state,
            "label": label,
            "problems": "true" if problems else None,
            "handled": "false" if unhandled else None,
        },
    )
    if as_json:
        print_json(answer)
        return
    stdout().print(services_table(answer["items"], time.time()))


@service_app.command("remove")
@api_command
def service_remove(
    api: ApiClient,
    host: HostArg,
    name: Annotated[str, typer.Argument(help="Service name", show_default=False)],
) -> None:
    """Remove a service and its state."""
    api.delete(path_of("hosts", host, "services", name))
    print_done(f"service {host}/{name} removed")


# ---------------------------------------------------------------------- results
def split_submit(args: list[str]) -> tuple[str, str | None, str, str]:
    """``HOST [SERVICE] STATE SUMMARY`` → (host, service or None, state, summary)."""
    if len(args) == 3:
        return args[0], None, args[1], args[2]
    if len(args) == 4:
        return args[0], args[1], args[2], args[3]
    raise ValueError(
        f"expected HOST [SERVICE] STATE SUMMARY, got {len(args)} argument(s) "
        "(quote a summary or service name with spaces)"
    )


@api_command
def submit(
    api: ApiClient,
    args: Annotated[
        list[str],
        typer.Argument(
            metavar="HOST [SERVICE] STATE SUMMARY",
            show_default=False,
            help="STATE: 0-3 or OK/WARN/CRIT/UNKNOWN; for a host 0-2 or UP/DOWN/UNREACHABLE",
        ),
    ],
    perfdata: Annotated[str, typer.Option(help="Nagios perfdata: 'used=80%;90;95 load=1.2'")] = "",
    long_output: Annotated[str, typer.Option(help="More lines of output")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Submit a passive check result for a service, or for a host without SERVICE."""
    host, service, state_arg, summary = parsed(split_submit, args, "HOST [SERVICE] STATE SUMMARY")
    is_host = service is None
    state = parsed(lambda s: parse_state(s, is_host=is_host), state_arg, "STATE")
    answer = api.post(
        "/results",
        {
            "host": host,
            "service": service,
            "state": state,
            "summary": summary,
            "perfdata": perfdata or None,
            "long_output": long_output or None,
        },
    )
    what = host if service is None else f"{host}/{service}"
    print_answer(answer, as_json, f"{state_name(state, is_host=is_host)} submitted for {what}")


def register(app: typer.Typer) -> None:
    app.add_typer(host_app, name="host")
    app.add_typer(service_app, name="service")
    app.command("submit")(submit)
