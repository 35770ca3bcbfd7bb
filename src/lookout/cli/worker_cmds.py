"""``lookout worker``: run a site's checks of one pool, taken from NATS JetStream; and
``lookout pools``: the site's pools with their workers and queues."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from lookout.cli.client import ApiClient, api_command
from lookout.cli.format import human_duration, print_json, stdout
from lookout.cli.site_cmds import config_error, err
from lookout.config import POOL_RE
from lookout.errors import ConfigError


def worker(
    ctx: typer.Context,
    pool: Annotated[str, typer.Option(help="The pool whose jobs to take")] = "default",
    nats_url: Annotated[
        str,
        typer.Option(
            "--nats",
            envvar="LOOKOUT_NATS_URL",
            help="NATS URL(s), comma-separated; user:password@ may be in them",
        ),
    ] = "nats://127.0.0.1:4222",
    creds: Annotated[
        Path | None,
        typer.Option(envvar="LOOKOUT_NATS_CREDS", help="NATS credentials file (JWT + NKey)"),
    ] = None,
    site_name: Annotated[
        str,
        typer.Option(envvar="LOOKOUT_SITE_NAME", help="The site's site_name (its subjects)"),
    ] = "lookout",
    concurrency: Annotated[int, typer.Option(min=1, help="Checks run at the same time")] = 50,
    spawners: Annotated[
        int, typer.Option(min=0, help="Helper processes that start plugins (0: this one)")
    ] = 0,
    resource: Annotated[
        Path | None,
        typer.Option(help="Nagios resource file with $USERn$ macros (default: $USER1$ only)"),
    ] = None,
    tls_ca: Annotated[Path | None, typer.Option(help="CA of the NATS servers (TLS)")] = None,
    tls_cert: Annotated[Path | None, typer.Option(help="Client certificate for NATS")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="Key of --tls-cert")] = None,
    name: Annotated[str, typer.Option(help="Worker name (default: machine-pid-random)")] = "",
    heartbeat: Annotated[float, typer.Option(min=0.1, help="Seconds between heartbeats")] = 5.0,
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
) -> None:
    """Take jobs of one pool of a site from NATS JetStream, run them as the site would, and
    publish their results. SIGTERM lets running checks finish first."""
    from lookout.sources.workers.connection import NatsAccess, tls_context
    from lookout.sources.workers.worker import Worker, WorkerOptions

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for what, value in (("--pool", pool), ("--site-name", site_name)):
        if re.fullmatch(POOL_RE, value) is None:
            raise config_error(
                ConfigError(f"{what} {value!r}: 1-63 lower-case letters, digits, '-' and '_'"),
                ctx,
            )
    access = NatsAccess(
        nats_url, *(str(p) if p else "" for p in (creds, tls_ca, tls_cert, tls_key))
    )
    try:
        tls_context(access)  # unusable TLS files: say so now, not in a retry loop
    except ConfigError as exc:
        raise config_error(exc, ctx) from exc
    options = WorkerOptions(
        site=site_name,
        pool=pool,
        concurrency=concurrency,
        heartbeat=heartbeat,
        spawners=spawners,
        resource_file=str(resource) if resource else "",
        name=name,
    )

    async def main() -> None:
        w = Worker(access, options)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, w.stop)
        err.print(
            f"Lookout worker {w.id}: pool {pool} of site {site_name} on {access.shown()}",
            soft_wrap=True,
        )
        await w.run()

    try:
        import uvloop

        uvloop.run(main())
    except ConfigError as exc:
        raise config_error(exc, ctx) from exc


@api_command
def pools(
    api: ApiClient,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON")] = False,
) -> None:
    """The site's worker pools: workers alive, jobs waiting and running, the oldest job."""
    answer = api.get("/pools")
    if as_json:
        print_json(answer)
        return
    out = stdout()
    if answer["runner"] == "embedded":
        out.print('Checks run in the site ([execution] runner = "embedded"): no pools.')
        return
    if answer["error"]:
        out.print(f"[red]{escape(answer['error'])}[/]", soft_wrap=True)
    out.print(pool_table(answer["pools"]))
    workers = [w for p in answer["pools"] for w in p["workers"]]
    if workers:
        out.print(worker_table(workers))


def pool_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(
        "Pool", "Workers", "Waiting", "Running", "Oldest job", "In flight", "Latency p99",
        title="Worker pools", title_justify="left",
    )  # fmt: skip
    for p in rows:
        table.add_row(
            escape(p["pool"]),
            str(len(p["workers"])) if p["workers"] else "[red]none[/]",
            _count(p["waiting"]),
            _count(p["running"]),
            _age(p["oldest_job_age"]),
            str(p["in_flight"]),
            _age(p["latency_p99"]),
        )
    return table


def worker_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(
        "Worker", "Pool", "Machine", "Running", "Done", "Dropped", "Up",
        title="Workers", title_justify="left",
    )  # fmt: skip
    for w in rows:
        table.add_row(
            escape(w["worker"]),
            escape(w["pool"]),
            escape(w["machine"]),
            f"{w['running']}/{w['concurrency']}",
            str(w["done"]),
            str(w["dropped"]),
            human_duration(max(0.0, w["last_seen"] - w["started_at"])),
        )
    return table


def _count(value: int | None) -> str:
    return "?" if value is None else str(value)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.1f} s" if seconds < 60 else human_duration(seconds)


def register(app: typer.Typer) -> None:
    app.command()(worker)
    app.command("pools")(pools)
