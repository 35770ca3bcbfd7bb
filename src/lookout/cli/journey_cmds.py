"""``lookout journey check|run``: run a synthetic journey (a YAML file of HTTP and browser
steps) here and print its step report, as a Nagios plugin (exit code = state) or pushing the
one result to a site's passive API (for a cron job or a Kubernetes CronJob)."""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.table import Table
from rich.text import Text

from lookout.checks.journeys.loader import JourneyFileError, load_file
from lookout.checks.journeys.model import Journey
from lookout.checks.journeys.report import MARKS, SKIPPED, JourneyResult
from lookout.cli.client import ApiClient, ApiError, api_command, path_of
from lookout.cli.format import (
    STATE_STYLES,
    param_parser,
    parse_interval,
    parsed,
    print_done,
    print_error,
    state_text,
    stdout,
)
from lookout.domain.metrics import Metric
from lookout.domain.states import state_name
from lookout.sources.journeys.browser import CHROMIUM
from lookout.sources.journeys.runner import Options, run_journey

journey_app = typer.Typer(
    help="Synthetic journeys (HTTP and browser steps from a YAML file): check, run.",
    no_args_is_help=True,
)
UNKNOWN = 3


class Format(StrEnum):
    auto = "auto"
    rich = "rich"
    plugin = "plugin"


FileArg = Annotated[
    Path, typer.Argument(help="Journey file (YAML)", show_default=False, dir_okay=False)
]
VarOpt = Annotated[
    list[str] | None,
    typer.Option("--var", help="name=value for ${name}, repeatable", show_default=False),
]
ChromiumOpt = Annotated[
    str, typer.Option(envvar="LOOKOUT_CHROMIUM", help="Chromium for browser steps")
]
ShotsOpt = Annotated[
    Path | None,
    typer.Option(
        "--screenshots",
        help="Directory for screenshots of failed browser steps (overrides the file)",
        show_default=False,
    ),
]
FormatOpt = Annotated[
    Format,
    typer.Option(
        "--format",
        help="rich: a table for people; plugin: Nagios plugin output; auto: rich on a terminal",
    ),
]


def parse_vars(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"{item!r}: expected name=value")
        out[name.strip()] = value
    return out


def _run(
    path: Path, journey: Journey, var: list[str] | None, chromium: str, shots: Path | None
) -> JourneyResult:
    options = Options(
        variables=parsed(parse_vars, var or [], "--var"),
        env=dict(os.environ),
        chromium=chromium,
        screenshots=shots,
        base_dir=path.parent,
    )
    return run_journey(journey, options)


def show(result: JourneyResult, fmt: Format) -> None:
    if fmt == Format.plugin or (fmt == Format.auto and not sys.stdout.isatty()):
        print(result.plugin_output())
        return
    console = stdout()
    name = state_name(result.state, is_host=False)
    console.print(Text.assemble(state_text(name), " ", result.summary))
    table = Table(box=None, pad_edge=False, show_header=True, header_style="dim")
    for column in ("", "#", "step", "kind", "time", "what happened"):
        table.add_column(column, justify="right" if column in ("#", "time") else "left")
    for s in result.steps:
        if s.state is None:
            mark = Text(SKIPPED, style="dim")
            table.add_row(mark, str(s.number), s.name, s.kind, "", Text("skipped", style="dim"))
            continue
        label = state_name(s.state, is_host=False)
        what = Text(s.reason or label)
        if s.detail:
            what.append(f"  {s.detail}", style="dim")
        table.add_row(
            Text(MARKS[s.state], style=STATE_STYLES.get(label, "")),
            str(s.number),
            s.name,
            s.kind,
            f"{s.seconds:.3f} s",
            what,
        )
    console.print(table)
    console.print(Text(f"total {result.seconds:.3f} s", style="dim"))


@journey_app.command("check")
def check(
    file: FileArg,
    var: VarOpt = None,
    chromium: ChromiumOpt = CHROMIUM,
    screenshots: ShotsOpt = None,
    fmt: FormatOpt = Format.auto,
) -> None:
    """Run a journey here and print its step report; the exit code is the Nagios state
    (0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN), so it works as a Nagios plugin."""
    try:
        journey = load_file(file)
    except JourneyFileError as exc:
        if fmt == Format.plugin or (fmt == Format.auto and not sys.stdout.isatty()):
            print(f"UNKNOWN: {exc.source}: not a valid journey\n" + "\n".join(exc.problems))
        else:
            print_error(f"{exc.source}: not a valid journey", exc.problems)
        raise typer.Exit(UNKNOWN) from exc
    result = _run(file, journey, var, chromium, screenshots)
    show(result, fmt)
    raise typer.Exit(result.state)


@journey_app.command("run")
@api_command
def run(
    api: ApiClient,
    file: FileArg,
    host: Annotated[
        str | None, typer.Option(help="Host of the result (default: the file's host)")
    ] = None,
    service: Annotated[
        str | None,
        typer.Option(help="Service of the result (default: the file's, else 'Journey NAME')"),
    ] = None,
    create: Annotated[
        bool,
        typer.Option(
            "--create", help="Add the host and the passive service first when they are missing"
        ),
    ] = False,
    interval: Annotated[
        float,
        typer.Option(
            parser=param_parser(parse_interval),
            metavar="DURATION",
            help="With --create: time between runs, like 5m (the CronJob's period)",
        ),
    ] = 300.0,
    stale_after: Annotated[
        float,
        typer.Option(
            help="With --create: UNKNOWN after this many intervals without a result", min=0
        ),
    ] = 2.0,
    var: VarOpt = None,
    chromium: ChromiumOpt = CHROMIUM,
    screenshots: ShotsOpt = None,
    fmt: FormatOpt = Format.auto,
) -> None:
    """Run a journey here and push its result to a site (POST /api/v1/results). Exit 0 once
    the site took the result, whatever its state; 2 for a bad file, 1/3 when the push failed."""
    target_host = host
    target_service = service
    try:
        journey = load_file(file)
    except JourneyFileError as exc:
        print_error(f"{exc.source}: not a valid journey", exc.problems)
        if target_host and target_service:  # tell the site too, rather than going silent
            summary = f"{exc.source}: not a valid journey: " + "; ".join(exc.problems)
            try:
                if create:
                    _ensure_service(api, target_host, target_service, interval, stale_after)
                _push(api, target_host, target_service, UNKNOWN, summary[:4000], "", [])
                print_done(f"UNKNOWN pushed for {target_host}/{target_service}")
            except ApiError as failed:
                print_error(f"could not tell the site either: {failed}", map(str, failed.errors))
        raise typer.Exit(2) from exc
    target_host = host or journey.host
    target_service = service or journey.service or f"Journey {journey.name}"
    if not target_host:
        print_error("no host for the result: give --host or set host: in the journey file")
        raise typer.Exit(2)
    if create:
        _ensure_service(api, target_host, target_service, interval, stale_after)
    result = _run(file, journey, var, chromium, screenshots)
    show(result, fmt)
    _push(
        api,
        target_host,
        target_service,
        result.state,
        result.summary,
        result.long_output,
        list(result.metrics),
    )
    state = state_name(result.state, is_host=False)
    print_done(f"{state} pushed for {target_host}/{target_service}")


def _push(
    api: ApiClient,
    host: str,
    service: str,
    state: int,
    summary: str,
    long_output: str,
    metrics: list[Metric],
) -> None:
    api.post(
        "/results",
        {
            "host": host,
            "service": service,
            "state": state,
            "summary": summary,
            "long_output": long_output,
            "metrics": msgspec.to_builtins(metrics),
        },
    )


def _ensure_service(
    api: ApiClient, host: str, service: str, interval: float, stale_after: float
) -> None:
    try:
        api.get(path_of("hosts", host))
    except ApiError as exc:
        if exc.status != 404:
            raise
        api.post("/hosts", {"name": host})
        print_done(f"host {host} added")
    try:
        api.get(path_of("hosts", host, "services", service))
    except ApiError as exc:
        if exc.status != 404:
            raise
        api.post(
            path_of("hosts", host, "services"),
            {
                "name": service,
                "check_interval": interval,
                "retry_interval": interval,
                "max_check_attempts": 1,
                "stale_after": stale_after,
            },
        )
        print_done(
            f"service {host}/{service} added (passive, UNKNOWN after "
            f"{stale_after:g} × {interval:g} s without a result)"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(journey_app, name="journey")
