"""The receiver's tables: registration tokens, issued certificates, the value store.
Synchronous (SQLAlchemy Core); the receiver calls these from a thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from lookout.storage import tables as t


@dataclass(frozen=True, slots=True)
class CertRecord:
    serial: str
    fingerprint: str
    uuid: str
    host: str
    not_after: float
    revoked_at: float | None = None
    revoked_reason: str = ""


def add_token(
    db: sa.Engine, token_hash: str, host: str, by: str, at: float, expires: float
) -> None:
    with db.begin() as conn:
        conn.execute(
            t.agent_tokens.insert().values(
                hash=token_hash, host=host, created_by=by, created_at=at, expires_at=expires
            )
        )


def check_token(db: sa.Engine, token_hash: str, at: float) -> tuple[str | None, str]:
    """Like :func:`use_token` without using it up (checked before any signing work)."""
    with db.connect() as conn:
        row = conn.execute(
            sa.select(t.agent_tokens).where(t.agent_tokens.c.hash == token_hash)
        ).first()
    return _token_host(row, at)


def _token_host(row: Any, at: float) -> tuple[str | None, str]:
    """The host a token row registers for at ``at``: (host, "") or (None, why not)."""
    if row is None:
        return None, "unknown registration token"
    if row.used_at is not None:
        return None, "registration token already used (tokens are single-use)"
    if row.expires_at <= at:
        return None, "registration token expired: create a new one with lookout host add"
    return str(row.host), ""


def use_token(db: sa.Engine, token_hash: str, at: float) -> tuple[str | None, str]:
    """Mark the token used; (host, "") on success, (None, why) otherwise. Atomic: of two
    registrations racing with the same token, one wins."""
    with db.begin() as conn:
        row = conn.execute(
            sa.select(t.agent_tokens).where(t.agent_tokens.c.hash == token_hash)
        ).first()
        host, why = _token_host(row, at)
        if host is None:
            return None, why
        done = conn.execute(
            sa.update(t.agent_tokens)
            .where(t.agent_tokens.c.hash == token_hash, t.agent_tokens.c.used_at.is_(None))
            .values(used_at=at)
        )
        if done.rowcount != 1:
            return None, "registration token already used (tokens are single-use)"
        return host, ""


def add_cert(db: sa.Engine, rec: CertRecord, at: float) -> None:
    with db.begin() as conn:
        conn.execute(
            t.agent_certs.insert().values(
                serial=rec.serial, fingerprint=rec.fingerprint, uuid=rec.uuid, host=rec.host,
                issued_at=at, not_after=rec.not_after,
            )
        )  # fmt: skip


def revoke(
    db: sa.Engine,
    at: float,
    reason: str,
    *,
    host: str | None = None,
    uuid: str | None = None,
    keep_uuid: str | None = None,
) -> int:
    """Revoke the certificates of ``host`` (but not those of ``keep_uuid``) or of ``uuid``."""
    c = t.agent_certs.c
    cond = c.host == host if host is not None else c.uuid == uuid
    if keep_uuid is not None:
        cond = sa.and_(cond, c.uuid != keep_uuid)
    with db.begin() as conn:
        res = conn.execute(
            sa.update(t.agent_certs)
            .where(cond, c.revoked_at.is_(None))
            .values(revoked_at=at, revoked_reason=reason)
        )
        return int(res.rowcount)


def drop_unused_tokens(db: sa.Engine, host: str) -> None:
    with db.begin() as conn:
        conn.execute(
            sa.delete(t.agent_tokens).where(
                t.agent_tokens.c.host == host, t.agent_tokens.c.used_at.is_(None)
            )
        )


def load_certs(db: sa.Engine) -> list[CertRecord]:
    c = t.agent_certs.c
    with db.connect() as conn:
        rows = conn.execute(
            sa.select(
                c.serial, c.fingerprint, c.uuid, c.host, c.not_after, c.revoked_at,
                c.revoked_reason,
            )
        ).all()  # fmt: skip
    return [CertRecord(*r) for r in rows]


def load_values(db: sa.Engine) -> dict[str, bytes]:
    with db.connect() as conn:
        rows = conn.execute(sa.select(t.agent_values.c.host, t.agent_values.c.data)).all()
    return {r[0]: r[1] for r in rows}


def save_values(db: sa.Engine, data: dict[str, bytes], at: float) -> None:
    if not data:
        return
    with db.begin() as conn:
        conn.execute(sa.delete(t.agent_values).where(t.agent_values.c.host.in_(list(data))))
        conn.execute(
            t.agent_values.insert(),
            [{"host": h, "data": d, "updated_at": at} for h, d in data.items()],
        )
