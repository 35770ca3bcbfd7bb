"""``lookout token …`` and ``lookout user …``: who may use the site (admin tokens only)."""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from lookout.auth import Role
from lookout.cli.client import ApiClient, api_command, path_of
from lookout.cli.format import (
    param_parser,
    parse_duration,
    print_done,
    print_json,
    stdout,
    tokens_table,
    users_table,
)

token_app = typer.Typer(help="API tokens: create, list, revoke.", no_args_is_help=True)
user_app = typer.Typer(help="Users: add, list, remove, passwd, totp-reset.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON")]


# ---------------------------------------------------------------------- tokens
@token_app.command("create")
@api_command
def token_create(
    api: ApiClient,
    name: Annotated[str, typer.Argument(help="What the token is for", show_default=False)],
    role: Annotated[Role, typer.Option(help="What it may do")] = Role.VIEWER,
    user: Annotated[str | None, typer.Option(help="Whose token (default: yours)")] = None,
    expire: Annotated[
        float | None,
        typer.Option(
            parser=param_parser(parse_duration),
            metavar="DURATION",
            show_default=False,
            help="Valid for this long (30d); default: until revoked",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a token and print it, once: only its hash is stored."""
    expires_at = time.time() + expire if expire is not None else None
    created = api.post(
        "/tokens",
        {
            "name": name,
            "role": role.value,
            "user": user,
            "expires_at": expires_at,
        },
    )
    if as_json:
        print_json(created)
        return
    # the token alone on stdout (``> file`` keeps just it), the words around it on stderr
    said = Console(stderr=True)
    said.print(
        Text.assemble(
            ("✓ ", "green"),
            f"token {created['id']} ({created['role']}) created for {created['user']}",
        )
    )
    stdout().print(Text(created["token"], style="bold"), soft_wrap=True)
    said.print(Text("Shown once: store it now.", style="dim"))


@token_app.command("list")
@api_command
def token_list(api: ApiClient, as_json: JsonOpt = False) -> None:
    """List tokens that are not revoked."""
    answer = api.get("/tokens")
    if as_json:
        print_json(answer)
        return
    stdout().print(tokens_table(answer["items"], time.time()))


@token_app.command("revoke")
@api_command
def token_revoke(
    api: ApiClient, token_id: Annotated[int, typer.Argument(metavar="ID", help="Token id")]
) -> None:
    """Revoke a token: it stops working at once."""
    api.delete(path_of("tokens", str(token_id)))
    print_done(f"token {token_id} revoked")


# ---------------------------------------------------------------------- users
def read_password() -> str:
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise typer.BadParameter("no password on stdin", param_hint="--password-stdin")
    return line


@user_app.command("add")
@api_command
def user_add(
    api: ApiClient,
    name: Annotated[str, typer.Argument(help="User name", show_default=False)],
    role: Annotated[Role, typer.Option(help="What the user may do")] = Role.VIEWER,
    email: Annotated[str, typer.Option(help="For notifications")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read a password (for the web UI) from stdin")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add a user (tokens for it: lookout token create NAME --user USER)."""
    password = read_password() if password_stdin else None
    created = api.post(
        "/users",
        {
            "name": name,
            "role": role.value,
            "email": email,
            "password": password,
        },
    )
    if as_json:
        print_json(created)
        return
    print_done(f"user {name} ({role.value}) added")


@user_app.command("list")
@api_command
def user_list(api: ApiClient, as_json: JsonOpt = False) -> None:
    """List users."""
    answer = api.get("/users")
    if as_json:
        print_json(answer)
        return
    stdout().print(users_table(answer["items"], time.time()))


@user_app.command("remove")
@api_command
def user_remove(
    api: ApiClient,
    name: Annotated[str, typer.Argument(help="User name", show_default=False)],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask")] = False,
) -> None:
    """Remove a user and revoke their API tokens."""
    if not yes:
        typer.confirm(f"Remove user {name}?", abort=True)
    api.delete(path_of("users", name))
    print_done(f"user {name} removed")


@api_command
def checkpoint(api: ApiClient, as_json: JsonOpt = False) -> None:
    """Have the site store a checkpoint now (before copying its database by hand)."""
    answer = api.post("/checkpoint", {})
    if as_json:
        print_json(answer)
    else:
        print_done("checkpoint stored")


def register(app: typer.Typer) -> None:
    app.command("checkpoint")(checkpoint)
    app.add_typer(token_app, name="token")
    app.add_typer(user_app, name="user")
