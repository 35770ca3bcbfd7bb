"""One-time log-in links: a random token, stored as its SHA-256, good once and for minutes."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa

from lookout.storage import tables as t


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(db: sa.Engine, user: str, now: float, seconds: float) -> str:
    """A new token logging ``user`` in once within ``seconds``; expired ones are deleted."""
    token = secrets.token_urlsafe(32)
    with db.begin() as conn:
        conn.execute(sa.delete(t.login_links).where(t.login_links.c.expires_at <= now))
        conn.execute(
            t.login_links.insert().values(
                token_hash=_hash(token), user=user, expires_at=now + seconds
            )
        )
    return token


def redeem(db: sa.Engine, token: str, now: float) -> tuple[str, str] | None:
    """(user, role) of ``token``, which is used up now; None: unknown, used or expired."""
    link, users = t.login_links.c, t.users.c
    with db.begin() as conn:
        row = conn.execute(
            sa.select(link.user, link.expires_at, users.role)
            .join(t.users, users.name == link.user)
            .where(link.token_hash == _hash(token))
        ).first()
        if row is None:
            return None
        conn.execute(sa.delete(t.login_links).where(link.token_hash == _hash(token)))
    if row.expires_at <= now:
        return None
    return str(row.user), str(row.role)
