"""``lookout user passwd`` and ``totp-reset``: set a user's web UI password or turn their second
factor off, working on the site directory (so it also works when no admin can log in yet)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from lookout.cli import admin_cmds
from lookout.errors import ConfigError, LookoutError

out = Console()
err = Console(stderr=True)


def set_site_password(site_dir: Path, user: str, password: str) -> None:
    """Store ``user``'s password (argon2) in the site database; ends their web sessions."""
    from lookout.config import load_settings
    from lookout.storage.database import migrate, open_database
    from lookout.web.ui.passwords import set_password

    settings = load_settings(site_dir)
    db = open_database(settings.database(site_dir))
    try:
        migrate(db)
        set_password(db, user, password)
    finally:
        db.dispose()


def passwd(
    name: Annotated[str, typer.Argument(help="User name", show_default=False)],
    site: Annotated[Path, typer.Option("--site", help="Site directory")] = Path("."),
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin")
    ] = False,
) -> None:
    """Set a user's web UI password (prompts, reads stdin, or generates one)."""
    from lookout.web.ui.passwords import new_password

    generated = False
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = typer.prompt("New password (empty: generate one)", default="", hide_input=True)
    else:
        password = ""
    if not password:
        password, generated = new_password(), True
    if len(password) < 8:
        err.print("[bold red]error:[/] password: at least 8 characters")
        raise typer.Exit(2)
    try:
        set_site_password(site, name, password)
    except (ConfigError, LookoutError) as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    out.print(f"[green]✓[/] password of [bold]{escape(name)}[/] set; their web sessions ended")
    if generated:
        out.print(f"  Password: [bold]{escape(password)}[/]  (shown once)")


def reset_site_totp(site_dir: Path, user: str) -> bool:
    """Turn ``user``'s second factor off in the site database and end their web sessions;
    False when they had none."""
    from lookout.config import load_settings
    from lookout.storage import accounts, audit
    from lookout.storage import totp as totp_rows
    from lookout.storage.database import migrate, open_database
    from lookout.web.ui.sessions import end_user_sessions

    settings = load_settings(site_dir)
    db = open_database(settings.database(site_dir))
    try:
        migrate(db)
        accounts.get_user(db, user)  # NotFound names the user
        had = totp_rows.reset(db, user)
        end_user_sessions(db, user)
        if had:
            audit.append_now(db, _cli_entry("user", user, "totp-reset"))
        return had
    finally:
        db.dispose()


def _cli_entry(kind: str, obj: str, verb: str) -> Any:
    """An audit entry by whoever runs the command on this machine (channel ``cli``)."""
    import getpass
    import time

    from lookout.domain.audit import Entry

    return Entry(
        at=time.time(), actor=getpass.getuser(), channel="cli", address="", kind=kind,
        object=obj, verb=verb,
    )  # fmt: skip


def totp_reset(
    name: Annotated[str, typer.Argument(help="User name", show_default=False)],
    site: Annotated[Path, typer.Option("--site", help="Site directory")] = Path("."),
) -> None:
    """Turn a user's two-factor log-in off (lost phone); they set it up again from their
    profile, or at the next log-in where the site requires it."""
    try:
        had = reset_site_totp(site, name)
    except (ConfigError, LookoutError) as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    if had:
        out.print(
            f"[green]✓[/] two-factor log-in of [bold]{escape(name)}[/] reset; "
            "their web sessions ended"
        )
    else:
        out.print(f"[yellow]•[/] {escape(name)} had no two-factor log-in; their web sessions ended")


def register(app: typer.Typer) -> None:
    """Adds ``passwd`` and ``totp-reset`` to the ``lookout user`` group of
    :mod:`lookout.cli.admin_cmds`."""
    del app  # the group is registered there
    admin_cmds.user_app.command("passwd")(passwd)
    admin_cmds.user_app.command("totp-reset")(totp_reset)
