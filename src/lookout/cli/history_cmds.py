"""``lookout acknowledgements``, ``lookout comments`` and ``lookout metrics``: read-only views
of handling and history (the API's history routes; ``events`` and ``downtime list`` live with
the commands that make them)."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from lookout.cli.client import ApiClient, api_command
from lookout.cli.details import acknowledgements_table, comments_table, metrics_table
from lookout.cli.format import param_parser, parse_duration, print_json, stdout

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON")]
HostOpt = Annotated[str | None, typer.Option(help="Only this host", show_default=False)]


@api_command
def acknowledgements(api: ApiClient, host: HostOpt = None, as_json: JsonOpt = False) -> None:
    """Problems someone is on: who acknowledged them, when, and until when."""
    answer = api.get("/acknowledgements", {"host": host})
    if as_json:
        print_json(answer)
        return
    stdout().print(acknowledgements_table(answer["items"], time.time()))


@api_command
def comments(
    api: ApiClient,
    host: HostOpt = None,
    service: Annotated[
        str | None, typer.Option(help="Only this service ('' for the host's own)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Comments on hosts and services, the oldest first (acknowledgements and downtimes add
    theirs too)."""
    answer = api.get("/comments", {"host": host, "service": service})
    if as_json:
        print_json(answer)
        return
    stdout().print(comments_table(answer["items"], time.time()))


@api_command
def metrics(
    api: ApiClient,
    host: Annotated[str, typer.Argument(help="Host name", show_default=False)],
    service: Annotated[
        str, typer.Argument(help="Service name (omit for the host's own metrics)")
    ] = "",
    since: Annotated[
        float,
        typer.Option(
            parser=param_parser(parse_duration),
            metavar="DURATION",
            help="How far back, like 4h, 1d, 1w",
        ),
    ] = 4 * 3600.0,
    step: Annotated[
        float | None,
        typer.Option(
            parser=param_parser(parse_duration),
            metavar="DURATION",
            show_default=False,
            help="One averaged point per step (default: --since / 240)",
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Only this metric", show_default=False)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Metric series of a host or service: points, min, average, max and the last value."""
    now = time.time()
    answer = api.get(
        "/metrics",
        {
            "host": host,
            "service": service,
            "start": f"{now - since:.3f}",
            "end": f"{now:.3f}",
            "step": step or max(1.0, round(since / 240)),
            "name": name,
        },
    )
    if as_json:
        print_json(answer)
        return
    stdout().print(metrics_table(answer, now))


def register(app: typer.Typer) -> None:
    app.command("acknowledgements")(acknowledgements)
    app.command("comments")(comments)
    app.command("metrics")(metrics)
