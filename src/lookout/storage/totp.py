"""The rows of users' TOTP second factor: the sealed seed, the last accepted time step, and the
hashes of recovery codes. Sealing, code checks and hashing belong to the caller
(``web/ui/totp.py``); these functions only read and write, each in one transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from lookout.storage import tables as t


@dataclass(frozen=True, slots=True)
class TotpRow:
    user: str
    sealed_secret: str
    confirmed: bool
    last_step: int


def get(db: sa.Engine, user: str) -> TotpRow | None:
    c = t.user_totp.c
    query = sa.select(c.sealed_secret, c.confirmed_at, c.last_step).where(c.user == user)
    with db.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    return TotpRow(user, row.sealed_secret, row.confirmed_at is not None, int(row.last_step))


def start(db: sa.Engine, user: str, sealed_secret: str, now: float) -> None:
    """Keep a new, unconfirmed seed for ``user`` in place of an unconfirmed one. A confirmed
    seed is kept: :func:`reset` first (turning the factor off is a separate decision)."""
    c = t.user_totp.c
    with db.begin() as conn:
        conn.execute(sa.delete(t.user_totp).where((c.user == user) & c.confirmed_at.is_(None)))
        if conn.execute(sa.select(c.user).where(c.user == user)).first() is None:
            conn.execute(
                t.user_totp.insert().values(
                    user=user, sealed_secret=sealed_secret, created_at=now, last_step=0
                )
            )


def confirm(db: sa.Engine, user: str, step: int, now: float, code_hashes: Iterable[str]) -> bool:
    """Mark ``user``'s seed confirmed with the step of its first code, and store new recovery
    codes; False when there is no unconfirmed seed (confirmed by another tab meanwhile)."""
    c = t.user_totp.c
    with db.begin() as conn:
        done = conn.execute(
            sa.update(t.user_totp)
            .where((c.user == user) & c.confirmed_at.is_(None))
            .values(confirmed_at=now, last_step=step)
        )
        if done.rowcount != 1:
            return False
        _replace_codes(conn, user, code_hashes)
    return True


def use_step(db: sa.Engine, user: str, step: int) -> bool:
    """Record that a code of ``step`` was accepted; False when that step or a later one was
    already used (a replayed code). One conditional update, so two requests racing with the
    same code cannot both win."""
    c = t.user_totp.c
    with db.begin() as conn:
        done = conn.execute(
            sa.update(t.user_totp)
            .where((c.user == user) & (c.last_step < step) & c.confirmed_at.is_not(None))
            .values(last_step=step)
        )
    return done.rowcount == 1


def use_recovery(db: sa.Engine, user: str, code_hash: str) -> bool:
    """Delete one recovery code; True when it existed (so it worked, once)."""
    r = t.totp_recovery.c
    with db.begin() as conn:
        done = conn.execute(
            sa.delete(t.totp_recovery).where((r.user == user) & (r.code_hash == code_hash))
        )
    return done.rowcount == 1


def replace_recovery(db: sa.Engine, user: str, code_hashes: Iterable[str]) -> None:
    with db.begin() as conn:
        _replace_codes(conn, user, code_hashes)


def recovery_left(db: sa.Engine, user: str) -> int:
    r = t.totp_recovery.c
    with db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).where(r.user == user)).scalar_one())


def reset(db: sa.Engine, user: str) -> bool:
    """Turn ``user``'s second factor off (seed and recovery codes); True when there was one."""
    with db.begin() as conn:
        conn.execute(sa.delete(t.totp_recovery).where(t.totp_recovery.c.user == user))
        done = conn.execute(sa.delete(t.user_totp).where(t.user_totp.c.user == user))
    return done.rowcount > 0


def _replace_codes(conn: sa.Connection, user: str, code_hashes: Iterable[str]) -> None:
    conn.execute(sa.delete(t.totp_recovery).where(t.totp_recovery.c.user == user))
    rows = [{"user": user, "code_hash": h} for h in code_hashes]
    if rows:
        conn.execute(t.totp_recovery.insert(), rows)
