"""Users and API tokens in the site database."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from lookout.errors import Conflict, NotFound
from lookout.storage import tables as t


def add_user(
    db: sa.Engine,
    name: str,
    role: str,
    at: float,
    email: str = "",
    password_hash: str | None = None,
) -> None:
    with db.begin() as conn:
        if conn.execute(sa.select(t.users.c.name).where(t.users.c.name == name)).first():
            raise Conflict(f"user {name!r} exists already")
        conn.execute(
            t.users.insert().values(
                name=name, role=role, email=email, password_hash=password_hash, created_at=at
            )
        )


def list_users(db: sa.Engine) -> list[dict[str, Any]]:
    with db.connect() as conn:
        rows = conn.execute(sa.select(t.users).order_by(t.users.c.name))
        return [
            {
                "name": r.name,
                "email": r.email,
                "role": r.role,
                "created_at": r.created_at,
                "has_password": r.password_hash is not None,
            }
            for r in rows
        ]


def get_user(db: sa.Engine, name: str) -> Any:
    with db.connect() as conn:
        row = conn.execute(sa.select(t.users).where(t.users.c.name == name)).first()
    if row is None:
        raise NotFound(f"user {name!r} not found")
    return row


def delete_user(db: sa.Engine, name: str) -> None:
    with db.begin() as conn:
        conn.execute(sa.delete(t.tokens).where(t.tokens.c.user == name))
        if conn.execute(sa.delete(t.users).where(t.users.c.name == name)).rowcount == 0:
            raise NotFound(f"user {name!r} not found")


def add_token(
    db: sa.Engine,
    *,
    name: str,
    user: str,
    role: str,
    token_hash: str,
    at: float,
    expires_at: float | None = None,
) -> int:
    with db.begin() as conn:
        res = conn.execute(
            t.tokens.insert().values(
                name=name,
                user=user,
                role=role,
                hash=token_hash,
                prefix=token_hash[:8],
                created_at=at,
                expires_at=expires_at,
            )
        )
        pk = res.inserted_primary_key
        assert pk is not None
        return int(pk[0])


def list_tokens(db: sa.Engine, *, include_revoked: bool = False) -> list[dict[str, Any]]:
    q = sa.select(t.tokens).order_by(t.tokens.c.id)
    if not include_revoked:
        q = q.where(t.tokens.c.revoked_at.is_(None))
    with db.connect() as conn:
        return [
            {
                "id": r.id,
                "name": r.name,
                "user": r.user,
                "role": r.role,
                "created_at": r.created_at,
                "expires_at": r.expires_at,
                "revoked_at": r.revoked_at,
            }
            for r in conn.execute(q)
        ]


def active_tokens(db: sa.Engine) -> list[Any]:
    with db.connect() as conn:
        return list(conn.execute(sa.select(t.tokens).where(t.tokens.c.revoked_at.is_(None))))


def revoke_token(db: sa.Engine, token_id: int, at: float) -> None:
    with db.begin() as conn:
        res = conn.execute(
            sa.update(t.tokens)
            .where(t.tokens.c.id == token_id, t.tokens.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        if res.rowcount == 0:
            raise NotFound(f"token {token_id} not found (or revoked already)")
