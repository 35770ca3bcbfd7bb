"""``lookout report availability``: time per state, outages and SLA verdicts of hosts and
services over a period (a table, ``--json`` or ``--csv``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from lookout.cli.client import ApiClient, api_command
from lookout.cli.format import human_duration, print_json, stdout

report_app = typer.Typer(help="Reports: availability of hosts and services over a period.")


@report_app.command("availability")
@api_command
def availability(
    api: ApiClient,
    host: Annotated[str | None, typer.Option(help="Only this host", show_default=False)] = None,
    service: Annotated[
        str | None, typer.Option(help="Only services of this name", show_default=False)
    ] = None,
    group: Annotated[
        str | None, typer.Option(help="Only hosts of this group", show_default=False)
    ] = None,
    label: Annotated[
        list[str] | None, typer.Option(help="key=value, repeatable", show_default=False)
    ] = None,
    kind: Annotated[str, typer.Option(help="services, hosts or all")] = "services",
    since: Annotated[str, typer.Option(help="A duration back (30d, 1w) or a time")] = "1d",
    until: Annotated[
        str | None, typer.Option(help="End of the period (default now)", show_default=False)
    ] = None,
    downtime: Annotated[
        str, typer.Option(help="separate (own column), ok (counts as OK) or ignore")
    ] = "separate",
    soft_states: Annotated[bool, typer.Option(help="Count soft problem states too")] = False,
    host_down: Annotated[
        bool, typer.Option(help="A service's time with its host down in its own column")
    ] = False,
    sla: Annotated[
        float | None, typer.Option(help="Target in percent, e.g. 99.9", show_default=False)
    ] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON")] = False,
) -> None:
    """Availability over a period: percent OK, time per state, outages, SLA met or missed."""
    params: dict[str, Any] = {
        "host": host,
        "service": service,
        "group": group,
        "label": label or None,
        "kind": kind,
        "since": since,
        "until": until,
        "downtime": downtime,
        "soft_states": soft_states,
        "host_down": host_down,
        "sla": sla,
    }
    if as_csv:
        typer.echo(api.get_text("/reports/availability", {**params, "format": "csv"}), nl=False)
        return
    answer = api.get("/reports/availability", params)
    if as_json:
        print_json(answer)
        return
    stdout().print(availability_table(answer))


def availability_table(answer: dict[str, Any]) -> Table:
    span = human_duration(answer["end"] - answer["start"])
    table = Table(
        "Object", "Available", "SLA", "OK/UP", "Problems", "Downtime", "Unmonitored", "Outages",
        title=f"Availability over the last {span}", title_justify="left",
    )  # fmt: skip
    for item in answer["items"]:
        s = item["seconds"]
        good = s.get("ok", s.get("up", 0.0))
        problems = sum(s.get(k, 0.0) for k in ("warn", "crit", "unknown", "down", "unreachable"))
        pct = item["percent"]
        verdict = {True: "[green]met[/]", False: "[red]missed[/]"}.get(item["sla_met"], "")
        name = f"{item['host']}/{item['service']}" if item["service"] else item["host"]
        longest = max((o["duration"] for o in item["outages"]), default=0.0)
        outages = f"{len(item['outages'])} (longest {human_duration(longest)})" if longest else "0"
        table.add_row(
            escape(name),
            "-" if pct is None else f"{pct:.3f} %",
            verdict,
            human_duration(good) if good else "0",
            human_duration(problems) if problems else "0",
            human_duration(s["downtime"]) if s["downtime"] else "0",
            human_duration(s["unmonitored"]) if s["unmonitored"] else "0",
            outages,
        )
    return table


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
