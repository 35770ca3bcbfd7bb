"""``lookout sites``: many sites on one installation (the site manager, issue 13).

Changes go to the root's supervisor (``lookout sites serve``) when it runs, which forks the
sites from itself; without one, the command does them itself and starts each site as a
``lookout serve`` subprocess. ``list`` and ``backup`` read the root directly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from lookout.cli.site_cmds import config_error
from lookout.errors import ConfigError, Conflict, NotFound

app = typer.Typer(
    help="Many sites on one installation: init, serve, create, list, start, stop, remove, "
    "backup, restore, update, versions."
)
versions_app = typer.Typer(
    help="Lookout versions installed side by side for the sites: add, list, remove."
)
app.add_typer(versions_app, name="versions")
out = Console()
err = Console(stderr=True)

RootOpt = Annotated[
    Path | None,
    typer.Option("--root", help="Manager root (default: LOOKOUT_SITES_ROOT)", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the answer as JSON")]
NameArg = Annotated[str, typer.Argument(help="Site name", show_default=False)]
PRELOADED = (
    "lookout.sites.site",
    "lookout.web.api.app",
    "lookout.web.api.routes",  # the API's FastAPI app, which a site builds once it runs
    # what a site imports only when it uses it (lookout serve starts sooner without them),
    # shared here all the same: channel drivers, chat-ops, Kubernetes, worker pools
    "lookout.notify.channels.alertmanager",
    "lookout.notify.channels.apprise",
    "lookout.notify.channels.email",
    "lookout.notify.channels.webhook",
    "lookout.notify.channels.zulip",
    "lookout.chatops.bot",
    "lookout.sites.kube_settings",
    "lookout.sources.kube.client",
    "lookout.sources.kube.credentials",
    "lookout.sources.kube.mapping",
    "lookout.sources.kube.monitor",
    "lookout.sources.kube.state",
    "lookout.sources.workers.connection",
    "lookout.sources.workers.runner",
    "lookout.sources.workers.streams",
    "uvicorn.lifespan.on",
    "uvicorn.loops.uvloop",
    "uvicorn.protocols.http.httptools_impl",
    "lookout.manager.doors",
    "sqlite3",
    "httpcore",
    "certifi",
)
"""What every site imports, imported by the supervisor before it forks them."""


def _root(given: Path | None) -> Any:
    from lookout.manager.client import root_path
    from lookout.manager.root import Root

    return Root(root_path(given))


def _do(root: Path | None, op: str, **args: Any) -> Any:
    """``op`` through the supervisor when it runs (without importing the sites' code), else
    here."""
    from lookout.manager.client import connect, root_path

    client = connect(root_path(root).resolve())
    if client is not None:
        return client(op, args)
    from lookout.manager.manager import Manager
    from lookout.manager.supervisor import call

    return call(Manager(_root(root)), op, args)


def _fail(exc: Exception, ctx: typer.Context) -> typer.Exit:
    if isinstance(exc, ConfigError):
        return config_error(exc, ctx)
    err.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
    return typer.Exit(1)


@app.command()
def init(
    ctx: typer.Context,
    root: Annotated[Path | None, typer.Argument(help="Directory of the new manager root")] = None,
    root_opt: RootOpt = None,
    saas: Annotated[bool, typer.Option(help="Run every site in SaaS mode")] = False,
    first_port: Annotated[int, typer.Option(help="First port given to sites")] = 20000,
    listen: Annotated[
        str, typer.Option(help="HOST:PORT of the HTTP front door (/SITE/…; '' for none)")
    ] = "127.0.0.1:9080",
    agent_listen: Annotated[
        str, typer.Option(help="HOST:PORT of the agents' port, routed by SNI ('' for none)")
    ] = "127.0.0.1:9443",
    site_users: Annotated[
        bool, typer.Option(help="Run as root: a Unix user per site (site_users in manager.toml)")
    ] = True,
) -> None:
    """Make a directory the root of many sites (its settings in ROOT/manager.toml)."""
    from lookout.manager.client import root_path
    from lookout.manager.root import init_root

    try:
        r = init_root(
            root_path(root or root_opt),
            saas=saas,
            first_port=first_port,
            listen=listen,
            agent_listen=agent_listen,
            site_users=site_users,
        )
    except ConfigError as exc:
        raise _fail(exc, ctx) from exc
    out.print(f"[green]✓[/] Manager root in [bold]{r.path}[/] (settings: manager.toml)")


@app.command()
def serve(
    ctx: typer.Context,
    root: Annotated[Path | None, typer.Argument(help="Manager root")] = None,
    root_opt: RootOpt = None,
) -> None:
    """Supervise every site of the root: start them, restart them, fork new ones fast."""
    import importlib
    import logging

    from lookout.checks.active import verifying_tls
    from lookout.cli.site_cmds import run_site
    from lookout.manager.supervisor import Supervisor
    from lookout.storage.database import head_revision

    for module in PRELOADED:  # imported once here, shared by every forked site
        importlib.import_module(module)
    head_revision()  # the migration scripts loaded once here too,
    verifying_tls()  # and certifi's CAs
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not every /readyz poll
    try:
        r = _root(root or root_opt)
        err.print(f"Supervising the sites of {r.path}", soft_wrap=True)
        with _signup_pages(r):
            Supervisor(r, lambda d: run_site(d, log_level="warning", shared=True)).serve()
    except ConfigError as exc:
        raise _fail(exc, ctx) from exc


@contextlib.contextmanager
def _signup_pages(r: Any) -> Iterator[None]:
    """With ``[signup] enabled``: the sign-up pages in a process of their own while the
    supervisor runs (it must stay single-threaded to fork sites)."""
    if not r.settings.signup.enabled:
        yield
        return
    import subprocess
    import sys

    log = (r.path / "run" / "signup.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "lookout.manager.signup", str(r.path)], stdout=log, stderr=log
    )
    err.print(f"Sign-up pages on http://{r.settings.signup.listen}/signup", soft_wrap=True)
    try:
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@app.command()
def create(
    ctx: typer.Context, name: NameArg, root: RootOpt = None, as_json: JsonOpt = False
) -> None:
    """Create a site and start it (its admin token and password are printed once)."""
    try:
        new = _do(root, "create", name=name)
    except (ConfigError, Conflict, NotFound) as exc:
        raise _fail(exc, ctx) from exc
    if as_json:
        print(json.dumps(new))
        return
    out.print(f"[green]✓[/] Site [bold]{name}[/] answers on {new['url']} ({new['seconds']:.2f} s)")
    out.print(f"  Agents:      {new['agent_url']}  (agents connect by this name)")
    out.print(f"  Local port:  {new['local_url']}  (this machine; the site's cli.json)")
    out.print(f"  Admin token: [bold]{new['token']}[/]  (shown once; stored hashed)")
    out.print(f"  Web log-in:  admin / [bold]{new['password']}[/]  (shown once)")


@app.command("list")
def list_(root: RootOpt = None, as_json: JsonOpt = False) -> None:
    """Sites with their state, crashes in a row (how the last ended), Unix user, version, size
    and last backup."""
    from lookout.manager.manager import Manager

    rows = Manager(_root(root)).rows()
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("site", "state", "crashes", "user", "version", "size", "last backup", "url")
    for r in rows:
        version = (
            r["version"] if r["runs"] == r["version"] else f"{r['version']} (runs {r['runs']})"
        )
        when = r["last_backup"]
        shown = dt.datetime.fromtimestamp(when).strftime("%Y-%m-%d %H:%M") if when else "never"
        size = f"{r['size'] / 1e6:.1f} MB"
        crashes = f"{r['crashes']} ({r['last_exit']})" if r["crashes"] else "0"
        row = (r["name"], r["state"], crashes, r["user"], version, size, shown, r["url"])
        table.add_row(*row)
    out.print(table)
    if rows and not any(r["own_user"] for r in rows):
        out.print(
            f"Every site runs as {rows[0]['user']}: sites get Unix users of their own only "
            "when made by root with site_users = true (manager.toml).",
            soft_wrap=True,
        )


@app.command()
def start(
    ctx: typer.Context, name: NameArg, root: RootOpt = None, as_json: JsonOpt = False
) -> None:
    """Start a stopped site (it stays started across supervisor restarts)."""
    _change(ctx, root, "start", name, "started", as_json)


@app.command()
def stop(ctx: typer.Context, name: NameArg, root: RootOpt = None, as_json: JsonOpt = False) -> None:
    """Stop a site (it stays stopped until started)."""
    _change(ctx, root, "stop", name, "stopped", as_json)


def _change(
    ctx: typer.Context, root: Path | None, op: str, name: str, done: str, as_json: bool
) -> None:
    try:
        rec = _do(root, op, name=name)
    except (ConfigError, Conflict, NotFound) as exc:
        raise _fail(exc, ctx) from exc
    if as_json:
        print(json.dumps(rec))
        return
    out.print(f"[green]✓[/] {name} {done}")


@app.command()
def remove(
    ctx: typer.Context,
    name: NameArg,
    root: RootOpt = None,
    purge: Annotated[bool, typer.Option(help="Delete its backups too (no final backup)")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Stop and delete a site; a final backup is kept unless --purge."""
    try:
        final = _do(root, "remove", name=name, purge=purge)
    except (ConfigError, Conflict, NotFound) as exc:
        raise _fail(exc, ctx) from exc
    if as_json:
        print(json.dumps({"name": name, "final_backup": final}))
        return
    out.print(f"[green]✓[/] {name} removed" + (f"; final backup {final}" if final else ""))


@app.command()
def backup(
    ctx: typer.Context, name: NameArg, root: RootOpt = None, as_json: JsonOpt = False
) -> None:
    """Back up a site, running or not (database, CA and keys, settings; with checksums)."""
    from lookout.manager.manager import Manager

    try:
        made = Manager(_root(root)).backup(name)
    except (ConfigError, NotFound) as exc:
        raise _fail(exc, ctx) from exc
    if as_json:
        print(json.dumps({"path": str(made.path), "created_at": made.created_at}))
        return
    out.print(f"[green]✓[/] {name} backed up to {made.path}")


@app.command()
def restore(
    ctx: typer.Context,
    name: NameArg,
    root: RootOpt = None,
    from_: Annotated[
        Path | None, typer.Option("--from", help="Backup file (default: the newest)")
    ] = None,
    as_name: Annotated[
        str | None, typer.Option("--as", help="Restore as a new site with new ports")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Bring a site back from a backup (checked against its checksums first)."""
    try:
        backup_path = str(from_.resolve()) if from_ else None
        rec = _do(root, "restore", name=name, backup=backup_path, as_name=as_name)
    except (ConfigError, Conflict, NotFound) as exc:
        raise _fail(exc, ctx) from exc
    if as_json:
        print(json.dumps(rec))
        return
    out.print(f"[green]✓[/] {rec['name']} restored (port {rec['http_port']})")


@app.command()
def update(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Site name", show_default=False)] = None,
    root: RootOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="Update every site of the root")] = False,
    parallel: Annotated[
        int, typer.Option("--parallel", min=1, max=64, help="With --all: sites at a time")
    ] = 4,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Version to update to (see sites versions; default: this installation's, "
            "or an unfinished update's)",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Update a site (or --all): backup, stop, migrate, start, verify; on failure the backup
    comes back and the old site starts with its old version. Killed, it resumes (or goes on
    rolling back) when run again. --to V: to installed version V, refused before anything
    changes if V does not know the database's schema (a downgrade past a migration). With
    --all, one line per site as it finishes, then a summary; exit code 1 unless every site
    updated (--json: one JSON object per site per line)."""
    if all_ == (name is not None):
        raise _fail(ConfigError("give a site name or --all (not both)"), ctx)
    if all_:
        _update_all(ctx, root, parallel, as_json, to)
        return
    try:
        done = _do(root, "update", name=name, to=to)
    except (ConfigError, Conflict, NotFound) as exc:
        raise _fail(exc, ctx) from exc
    if as_json:
        print(json.dumps(done))
        return
    out.print(
        f"[green]✓[/] {name} {done['outcome']}, runs {done.get('version')} "
        f"(backup {done['backup']})"
    )


def _update_all(
    ctx: typer.Context, root: Path | None, parallel: int, as_json: bool, to: str | None
) -> None:
    from dataclasses import asdict

    from lookout.manager.fleet import Outcome, update_all
    from lookout.manager.manager import Manager

    def shown(o: Outcome) -> None:
        if as_json:
            print(json.dumps(asdict(o)), flush=True)
        elif o.result == "updated":
            out.print(f"[green]✓[/] {o.name} updated ({o.seconds:.1f} s)")
        else:
            mark = "[yellow]↺[/]" if o.result == "restored" else "[bold red]✗[/]"
            at = f" at {o.step}" if o.step else ""
            out.print(f"{mark} {o.name} {o.result}: failed{at}: {o.error}", soft_wrap=True)

    try:
        r = _root(root)
        began = time.monotonic()
        outcomes = update_all(Manager(r), r.names(), parallel, shown, to)
    except ConfigError as exc:
        raise _fail(exc, ctx) from exc
    counts = {k: sum(o.result == k for o in outcomes) for k in ("updated", "restored", "failed")}
    if not as_json:
        took = time.monotonic() - began
        out.print(
            f"{len(outcomes)} sites in {took:.1f} s: {counts['updated']} updated, "
            f"{counts['restored']} restored (old version running), {counts['failed']} failed",
            soft_wrap=True,
        )
    if counts["updated"] != len(outcomes):
        raise typer.Exit(1)


VersionArg = Annotated[str, typer.Argument(help="Version, as its lookout version says")]


@versions_app.command("add")
def versions_add(
    ctx: typer.Context,
    version: VersionArg,
    path: Annotated[
        Path, typer.Argument(help="Directory with its bin/lookout (a virtual environment)")
    ],
    root: RootOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register an installed Lookout version (checked: its bin/lookout version says so)."""
    from lookout.manager.versions import Versions

    try:
        found = Versions(_root(root)).add(version, path)
    except (ConfigError, Conflict, NotFound) as exc:
        raise _fail(exc, ctx) from exc
    if as_json:
        print(json.dumps(_version_row(found, [])))
        return
    out.print(f"[green]✓[/] Lookout {version} ({found.path}, schema {found.head}) registered")


@versions_app.command("list")
def versions_list(ctx: typer.Context, root: RootOpt = None, as_json: JsonOpt = False) -> None:
    """Installed versions: this installation's and the registered ones, with their sites."""
    from lookout import __version__
    from lookout.manager.versions import Versions

    try:
        v = Versions(_root(root))
        rows = []
        for name in [__version__, *v.names()]:
            try:
                rows.append(_version_row(v.describe(name), v.users(name)))
            except (ConfigError, NotFound) as exc:  # registered, but does not answer
                rows.append({"version": name, "path": str(v.path(name)), "error": str(exc),
                             "sites": v.users(name)})  # fmt: skip
    except ConfigError as exc:
        raise _fail(exc, ctx) from exc
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("version", "schema", "sites", "path")
    for row in rows:
        schema = row.get("schema") or f"[red]{row.get('error')}[/]"
        label = row["version"] + (" (this installation)" if row.get("current") else "")
        table.add_row(label, schema, str(len(row["sites"])), row["path"])
    out.print(table)


@versions_app.command("remove")
def versions_remove(
    ctx: typer.Context, version: VersionArg, root: RootOpt = None, as_json: JsonOpt = False
) -> None:
    """Forget a registered version (its directory stays); refused while a site uses it."""
    from lookout.manager.versions import Versions

    try:
        Versions(_root(root)).remove(version)
    except (ConfigError, Conflict, NotFound) as exc:
        raise _fail(exc, ctx) from exc
    if as_json:
        print(json.dumps({"version": version, "removed": True}))
        return
    out.print(f"[green]✓[/] Lookout {version} removed")


def _version_row(found: Any, sites: list[str]) -> dict[str, Any]:
    return {
        "version": found.version,
        "path": str(found.path),
        "schema": found.head,
        "current": found.current,
        "sites": sites,
    }


def register(main: typer.Typer) -> None:
    main.add_typer(app, name="sites")
