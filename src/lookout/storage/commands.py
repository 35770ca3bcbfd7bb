"""Command definitions (table ``commands``): name and command line, as Nagios defines them."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from lookout.errors import Conflict, NotFound
from lookout.storage import tables as t

_C = t.commands.c


def list_commands(db: sa.Engine) -> list[dict[str, Any]]:
    """Every command definition, by name."""
    with db.connect() as conn:
        rows = conn.execute(sa.select(t.commands).order_by(_C.name))
        return [dict(r._mapping) for r in rows]


def save_command(db: sa.Engine, name: str, line: str, now: float, *, create: bool) -> bool:
    """Store command ``name``; ``create`` refuses an existing name (Conflict), otherwise the
    command is created or replaced. True when it was created."""
    with db.begin() as conn:
        exists = conn.execute(sa.select(_C.name).where(_C.name == name)).first() is not None
        if exists and create:
            raise Conflict(f"command {name!r} exists already")
        if exists:
            conn.execute(
                t.commands.update().where(_C.name == name).values(command_line=line, updated_at=now)
            )
        else:
            conn.execute(
                t.commands.insert().values(
                    name=name, command_line=line, created_at=now, updated_at=now
                )
            )
        return not exists


def delete_command(db: sa.Engine, name: str) -> None:
    with db.begin() as conn:
        done = conn.execute(sa.delete(t.commands).where(_C.name == name))
        if done.rowcount == 0:
            raise NotFound(f"command {name!r} not found")
