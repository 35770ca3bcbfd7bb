"""Command definitions: what ``{"type": "nagios", "command": NAME}`` checks run.

Admins write, viewers read. A command line is split into words when it is defined (errors name
``command_line``); a command that checks still use cannot be removed (409 naming them).
"""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from lookout.auth import Principal, Role
from lookout.domain.commands import COMMAND_NAME_RE, Command
from lookout.errors import NotFound, ValidationError
from lookout.storage import commands as store
from lookout.web.api.deps import require
from lookout.web.api.views import JSON
from lookout.wire.api import CommandIn, CommandLineIn

router = APIRouter(prefix="/commands", tags=["commands"])
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]


def _view(site: Any, row: dict[str, Any]) -> dict[str, Any]:
    command: Command | None = site.commands.commands.get(row["name"])
    return {
        "name": row["name"],
        "command_line": row["command_line"],
        "argv": list(command.argv) if command is not None else [],
        "used_by": site.command_users(row["name"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


async def _row(site: Any, name: str) -> dict[str, Any]:
    for row in await _rows(site):
        if row["name"] == name:
            return row
    raise NotFound(f"command {name!r} not found")


async def _rows(site: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await asyncio.to_thread(store.list_commands, site.db)
    return rows


@router.post("", status_code=201)
async def add_command(body: CommandIn, request: Request, _: Admin) -> Response:
    """Define a command; 409 when the name is taken."""
    site = request.app.state.site
    await site.save_command(body.name, body.command_line, create=True)
    return JSON(_view(site, await _row(site, body.name)), status_code=201)


@router.put("/{name}")
async def put_command(name: str, body: CommandLineIn, request: Request, _: Admin) -> Response:
    """Define or replace command ``name`` (checks using it run the new line from now on)."""
    site = request.app.state.site
    if re.fullmatch(COMMAND_NAME_RE, name) is None:
        raise ValidationError(
            f"name {name!r}: use 1-128 of A-Z a-z 0-9 _ . - (not starting with . or -)",
            ("path", "name"),
        )
    _, created = await site.save_command(name, body.command_line, create=False)
    return JSON(_view(site, await _row(site, name)), status_code=201 if created else 200)


@router.get("")
async def list_commands(request: Request, _: Viewer) -> Response:
    site = request.app.state.site
    items = [_view(site, row) for row in await _rows(site)]
    return JSON({"total": len(items), "items": items})


@router.get("/{name}")
async def show_command(name: str, request: Request, _: Viewer) -> Response:
    site = request.app.state.site
    return JSON(_view(site, await _row(site, name)))


@router.delete("/{name}", status_code=204)
async def remove_command(name: str, request: Request, _: Admin) -> Response:
    """Remove a command; 409 naming the checks that still use it."""
    site = request.app.state.site
    if name not in site.commands.commands:
        raise NotFound(f"command {name!r} not found")
    await site.delete_command(name)
    return Response(status_code=204)
