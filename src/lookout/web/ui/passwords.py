"""Setting a user's web UI password (used by the setup page and ``lookout user passwd``)."""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from lookout import auth
from lookout.errors import NotFound
from lookout.storage import tables as t


def set_password(db: sa.Engine, user: str, password: str) -> None:
    """Store an argon2 hash of ``password`` and end the user's web sessions."""
    with db.begin() as conn:
        res = conn.execute(
            sa.update(t.users)
            .where(t.users.c.name == user)
            .values(password_hash=auth.hash_password(password))
        )
        if res.rowcount == 0:
            raise NotFound(f"user {user!r} not found")
        conn.execute(sa.delete(t.ui_sessions).where(t.ui_sessions.c.user == user))


def new_password() -> str:
    """A random password that is easy to type: 4 groups of 5 letters and digits."""
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))
