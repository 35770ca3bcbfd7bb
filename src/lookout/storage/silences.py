"""Silences in Alertmanager tied to services (table ``alertmanager_silences``)."""

from __future__ import annotations

import msgspec
import sqlalchemy as sa

from lookout.storage import tables as t

_S = t.alertmanager_silences.c


class SilenceRow(msgspec.Struct, frozen=True, kw_only=True):
    silence_id: str
    host: str
    service: str
    reason: str
    """``ack``, ``downtime:<id>`` (made by Lookout) or ``silence`` (made in Alertmanager)."""
    origin: str
    """``lookout`` or ``alertmanager``: where the decision was made."""
    author: str
    ends_at: float
    created_at: float


def list_rows(db: sa.Engine) -> list[SilenceRow]:
    with db.connect() as conn:
        rows = conn.execute(sa.select(t.alertmanager_silences))
        return [SilenceRow(**r._mapping) for r in rows]


def add_rows(db: sa.Engine, rows: list[SilenceRow]) -> None:
    if rows:
        with db.begin() as conn:
            values = [msgspec.structs.asdict(r) for r in rows]
            conn.execute(t.alertmanager_silences.insert(), values)


def remove_rows(db: sa.Engine, rows: list[SilenceRow]) -> None:
    with db.begin() as conn:
        for r in rows:
            conn.execute(
                sa.delete(t.alertmanager_silences).where(
                    _S.silence_id == r.silence_id, _S.host == r.host, _S.service == r.service
                )
            )
