"""``lookout init`` and ``lookout serve``: create and run a site directory."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from lookout.cli.options import print_traceback
from lookout.errors import ConfigError

if TYPE_CHECKING:
    from lookout.config import Settings
    from lookout.web.fronts.pool import IngestFronts

err = Console(stderr=True)
out = Console()


def config_error(exc: ConfigError, ctx: typer.Context | None = None) -> typer.Exit:
    """Print ``exc`` in one line (its problems below it), with ``--debug`` after its
    traceback; the exit code for configuration errors."""
    if ctx is not None:
        print_traceback(ctx, exc)
    err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
    for problem in exc.problems:
        err.print(f"  • {escape(problem)}", soft_wrap=True)
    return typer.Exit(2)


def init(
    ctx: typer.Context,
    site_dir: Annotated[Path, typer.Argument(help="Directory of the new site")],
    listen: Annotated[str, typer.Option(help="HOST:PORT for the API and UI")] = "127.0.0.1:8080",
    database_url: Annotated[
        str, typer.Option(help="SQLAlchemy URL (default: SQLite in the site directory)")
    ] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print {url, token} as JSON")] = False,
) -> None:
    """Create a site: settings, database, admin user and an admin token (printed once).
    When a step fails, nothing of the site is left behind."""
    from lookout.sites.site import init_site

    try:
        created = init_site(site_dir, listen=listen, database_url=database_url)
    except ConfigError as exc:
        raise config_error(exc, ctx) from exc
    password = _admin_password(site_dir)
    if as_json:
        print(json.dumps({"url": created.url, "token": created.token, "password": password}))
        return
    out.print(f"[green]✓[/] Site created in [bold]{site_dir}[/]", soft_wrap=True)
    out.print(f"  URL:         {created.url}", soft_wrap=True)
    out.print(
        f"  Admin token: [bold]{created.token}[/]  (shown once; stored hashed)", soft_wrap=True
    )
    out.print(
        f"  Web log-in:  admin / [bold]{password}[/]  (shown once; lookout user passwd)",
        soft_wrap=True,
    )
    out.print(f"  Start it:    lookout serve {site_dir}", soft_wrap=True)


def serve(
    ctx: typer.Context,
    site_dir: Annotated[Path, typer.Argument(help="Site directory")],
    listen: Annotated[str | None, typer.Option(help="HOST:PORT (overrides the settings)")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning")] = "info",
) -> None:
    """Run the site: REST API, engine, scheduler."""
    run_site(site_dir, listen, log_level, ctx)


def run_site(
    site_dir: Path,
    listen: str | None = None,
    log_level: str = "info",
    ctx: typer.Context | None = None,
    *,
    shared: bool = False,
) -> None:
    """``lookout serve``'s work (the site manager's supervisor runs it in a forked child, with
    ``shared``: many sites share the machine's cores, so ``ingest_fronts = "auto"`` is 0)."""
    import uvicorn

    from lookout.config import load_settings, parse_listen
    from lookout.sites.site import Site, check_database
    from lookout.storage import memory
    from lookout.web.api.app import create_app
    from lookout.web.quiet import QuietServer

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        overrides = {"listen": listen} if listen else {}
        settings = load_settings(site_dir, **overrides)
    except ConfigError as exc:
        raise config_error(exc, ctx) from exc
    host, port = parse_listen(settings.listen)
    memory.limit_arenas()  # before the site's threads start
    site = Site(site_dir, settings)
    site.standby.on_lost = _stop_at_once
    try:
        check_database(site)
    except ConfigError as exc:
        raise config_error(exc, ctx) from exc
    if site.standby.lock is not None:
        err.print(
            "PostgreSQL: the site starts once this process holds the site lock; while another"
            " process holds it, this one waits as the standby",
            soft_wrap=True,
            markup=False,
        )
    err.print(f"Lookout site {settings.site_name} on {settings.url}", soft_wrap=True, markup=False)
    receiver = settings.agent_receiver
    if receiver.enabled:
        err.print(
            f"Agent receiver (mutual TLS) on {receiver.listen}"
            " — change it with listen under [agent_receiver] in lookout.toml",
            soft_wrap=True,
            markup=False,
        )
    from lookout.manager.processes import SHARED_CORES

    shared = shared or os.environ.get(SHARED_CORES) == "1"  # started by a site manager
    fronts = _ingest_fronts(settings, host, port, shared)
    config = uvicorn.Config(
        create_app(site, fronts),
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        loop="uvloop",
        http="httptools",
        ws="none",  # no websocket routes: nothing to import for them
        lifespan="on",
        # X-Forwarded-For/-Proto only from the proxies the settings name (the front door)
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
        server_header=False,
    )
    server = QuietServer(config)  # uvicorn.run's server, waking once a second when idle
    if fronts is None:
        server.run()
    else:  # the fronts accept; the server takes what they hand over
        fronts.adopt = server.adopt
        server.run(sockets=[])
    if not server.started:  # as uvicorn.run: the port is taken, or the start failed
        raise SystemExit(3)  # uvicorn's STARTUP_FAILURE


def _ingest_fronts(settings: Settings, host: str, port: int, shared: bool) -> IngestFronts | None:
    """The ingest fronts on the API port, bound here (None: the site serves it alone)."""
    import socket

    from lookout.web.fronts.pool import IngestFronts, auto_fronts

    workers = settings.ingest_fronts
    if workers == "auto":
        workers = 0 if shared else auto_fronts()
    if workers == 0:
        return None
    err.print(
        f"Ingest fronts: {workers} processes serve POST /api/v1/results"
        " — change it with ingest_fronts in lookout.toml",
        soft_wrap=True,
        markup=False,
    )
    import errno
    import time

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    deadline = time.monotonic() + 3.0
    while True:
        try:
            listener = socket.create_server((host, port), family=family, backlog=2048)
            break
        except OSError as exc:
            # a killed site's fronts close the port a moment after it died: wait for them
            if exc.errno == errno.EADDRINUSE and time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            err.print(f"error: cannot listen on {host}:{port}: {exc}", soft_wrap=True, markup=False)
            raise SystemExit(3) from exc  # uvicorn's STARTUP_FAILURE, as when it cannot bind
    return IngestFronts(listener, workers, settings.max_request_bytes)


EXIT_LOST = 3
"""``lookout serve``'s exit code when it lost the site lock (or, as the standby, could not
start the site): a supervisor restarts it, and it waits as the standby."""


def _stop_at_once(reason: str) -> None:
    """The site lock is gone, so another process may be active: stop now, without a last
    checkpoint or goodbyes (everything answered is in the journal already), as leader
    elections elsewhere do. The database refuses this process's journal and checkpoints
    already (the lock is the journal's connection); stopping also ends its notifications,
    checks and doors."""
    import os
    import sys

    err.print(f"error: {reason}: stopping", soft_wrap=True, markup=False)
    logging.shutdown()
    sys.stderr.flush()
    os._exit(EXIT_LOST)


def migrate(
    ctx: typer.Context,
    site_dir: Annotated[
        Path | None,
        typer.Argument(help="Site directory (its database_url; not needed with --database-url)"),
    ] = None,
    database_url: Annotated[
        str,
        typer.Option(
            envvar="LOOKOUT_DATABASE_URL",
            help="SQLAlchemy URL of the database (wins over the site's settings)",
        ),
    ] = "",
) -> None:
    """Bring the site database's schema to this version of Lookout, then exit.

    lookout serve does the same at start; this runs it alone (a Kubernetes update Job). Safe to
    kill and run again: the upgrade is one transaction (on PostgreSQL DDL included), and a
    database that is current is left alone."""
    import sqlalchemy as sa

    from lookout.config import load_settings
    from lookout.errors import StorageError
    from lookout.sites.site import database_error
    from lookout.storage.database import current_revision, migrate, open_database

    try:
        if database_url:
            url = database_url
        elif site_dir is not None:
            url = load_settings(site_dir).database(site_dir)
        else:
            raise ConfigError("give a site directory or --database-url (LOOKOUT_DATABASE_URL)")
        db = open_database(url)
        try:
            before = current_revision(db)
            migrate(db)
            after = current_revision(db)
        finally:
            db.dispose()
    except ConfigError as exc:
        raise config_error(exc, ctx) from exc
    except (sa.exc.SQLAlchemyError, StorageError, ImportError) as exc:
        raise config_error(database_error("cannot migrate the database", url, exc), ctx) from exc
    if before == after:
        out.print(f"[green]✓[/] database schema is current ({after})")
    else:
        out.print(f"[green]✓[/] database schema migrated from {before or 'empty'} to {after}")


def version(
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON")] = False,
) -> None:
    """This version of Lookout, and the database schema revisions it knows (its last: the
    newest, which lookout migrate brings a database to)."""
    import json
    import sys

    from lookout import __version__
    from lookout.storage.database import known_revisions

    revisions = known_revisions()
    if as_json:
        answer = {"version": __version__, "python": sys.executable, "revisions": revisions}
        print(json.dumps(answer))
        return
    out.print(f"Lookout {__version__} (schema {revisions[-1]}, Python {sys.executable})")


def demo(
    ctx: typer.Context,
    site_dir: Annotated[Path, typer.Argument(help="Directory of the demo site")] = Path(
        "demo-site"
    ),
    listen: Annotated[str, typer.Option(help="HOST:PORT for the API and UI")] = "127.0.0.1:8080",
) -> None:
    """Create (once) and run a demo site that monitors this machine and Lookout itself."""
    import time

    from lookout import auth
    from lookout.config import SETTINGS_FILE, load_settings
    from lookout.sites.site import init_site
    from lookout.storage import accounts
    from lookout.storage.database import migrate, open_database

    if not (site_dir / SETTINGS_FILE).exists():
        try:
            init_site(site_dir, listen=listen, extra={"demo": True})
        except ConfigError as exc:
            raise config_error(exc, ctx) from exc
    try:
        settings = load_settings(site_dir, listen=listen, demo=True)
    except ConfigError as exc:
        raise config_error(exc, ctx) from exc
    db = open_database(settings.database(site_dir))
    migrate(db)
    token = auth.new_token()
    accounts.add_token(
        db,
        name="demo session",
        user="admin",
        role="admin",
        token_hash=auth.hash_token(token),
        at=time.time(),
        expires_at=time.time() + 7 * 86400,
    )
    db.dispose()
    password = _demo_password(site_dir)
    # soft_wrap: a line that does not fit is not broken inside a command (pipes, narrow logs)
    out.print(f"[green]✓[/] Demo site in [bold]{site_dir}[/]", soft_wrap=True)
    out.print(
        f"  URL:         {settings.url}   (API docs: {settings.url}/api/v1/docs)", soft_wrap=True
    )
    out.print(f"  Web log-in:  admin / [bold]{password}[/]  (open {settings.url}/)", soft_wrap=True)
    out.print(f"  Admin token: [bold]{token}[/]  (valid 7 days)", soft_wrap=True)
    try_it = f"LOOKOUT_URL={settings.url} LOOKOUT_TOKEN={token} {_this_cli()} problems"
    out.print(f"  Try:         {try_it}", soft_wrap=True, highlight=False)
    serve(ctx, site_dir, listen=listen, log_level="warning")


def _this_cli() -> str:
    """How to call this CLI again from here: ``lookout`` when that is on PATH and is this
    one, else the path it was started by (``.venv/bin/lookout`` after ``scripts/demo``)."""
    import os
    import shutil
    import sys

    started = os.path.abspath(sys.argv[0])
    found = shutil.which("lookout")
    if found and os.path.exists(started) and os.path.samefile(found, started):
        return "lookout"
    if os.path.basename(started) != "lookout":  # python -m, tests: nothing better to say
        return "lookout"
    relative = os.path.relpath(started)
    return relative if not relative.startswith("..") else started


def _admin_password(site_dir: Path) -> str:
    """Give the new site's admin a random web UI password (printed once)."""
    from lookout.cli.user_cmds import set_site_password
    from lookout.web.ui.passwords import new_password

    password = new_password()
    set_site_password(site_dir, "admin", password)
    return password


def _demo_password(site_dir: Path) -> str:
    """The demo's admin password: made once, kept in the demo directory (mode 0600) so that
    every start prints the same log-in."""
    import os

    from lookout.cli.user_cmds import set_site_password
    from lookout.web.ui.passwords import new_password

    path = site_dir / "demo-login.txt"
    password = path.read_text(encoding="utf-8").strip() if path.exists() else ""
    if not password:
        password = new_password()
        path.write_text(password + "\n", encoding="utf-8")
        os.chmod(path, 0o600)
    set_site_password(site_dir, "admin", password)
    return password


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(serve)
    app.command()(migrate)
    app.command()(version)
    app.command()(demo)
