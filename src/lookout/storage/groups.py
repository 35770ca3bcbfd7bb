"""Aliases of host and service groups (table ``group_aliases``)."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa

from lookout.storage import tables as t

KINDS = ("host", "service")
_G = t.group_aliases.c


def list_aliases(db: sa.Engine) -> dict[str, dict[str, str]]:
    """``{"host": {group: alias}, "service": {group: alias}}``."""
    out: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
    with db.connect() as conn:
        for r in conn.execute(sa.select(_G.kind, _G.name, _G.alias).order_by(_G.name)):
            out.setdefault(r.kind, {})[r.name] = r.alias
    return out


def write_aliases(db: sa.Engine, kind: str, aliases: Mapping[str, str], now: float) -> None:
    """Make the aliases of ``kind`` groups exactly ``aliases`` (empty aliases are not kept)."""
    rows = [
        {"kind": kind, "name": n, "alias": a, "updated_at": now} for n, a in aliases.items() if a
    ]
    with db.begin() as conn:
        conn.execute(sa.delete(t.group_aliases).where(_G.kind == kind))
        if rows:
            conn.execute(t.group_aliases.insert(), rows)
