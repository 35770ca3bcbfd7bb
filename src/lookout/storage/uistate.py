"""What the web UI keeps between requests besides sessions, so that a restart forgets neither:
the failed log-ins its throttle counts, and texts shown once (sealed by the caller). Rows
carry their time and are deleted once expired, whenever these functions write."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from lookout.storage import tables as t


def record_failure(db: sa.Engine, keys: Sequence[str], at: float, expired: float) -> None:
    """Note a failed log-in for each of ``keys`` at ``at``; drop failures at or before
    ``expired`` (out of the throttle's window)."""
    with db.begin() as conn:
        conn.execute(t.login_failures.insert(), [{"key": key, "at": at} for key in keys])
        conn.execute(sa.delete(t.login_failures).where(t.login_failures.c.at <= expired))


def recent_failures(db: sa.Engine, since: float) -> list[tuple[str, float]]:
    """``(key, at)`` of the failures after ``since``, oldest first."""
    f = t.login_failures.c
    query = sa.select(f.key, f.at).where(f.at > since).order_by(f.at, f.id)
    with db.connect() as conn:
        return [(row.key, row.at) for row in conn.execute(query)]


def forget_failures(db: sa.Engine, key: str) -> None:
    with db.begin() as conn:
        conn.execute(sa.delete(t.login_failures).where(t.login_failures.c.key == key))


def put_shown_once(
    db: sa.Engine, session: str, kind: str, sealed: str, now: float, expires_at: float
) -> None:
    """Keep ``sealed`` for ``session``'s next page (replacing one of the same kind)."""
    s = t.ui_shown_once
    with db.begin() as conn:
        mine = (s.c.session == session) & (s.c.kind == kind)
        conn.execute(sa.delete(s).where((s.c.expires_at <= now) | mine))
        conn.execute(
            s.insert().values(session=session, kind=kind, sealed=sealed, expires_at=expires_at)
        )


def take_shown_once(db: sa.Engine, session: str, kind: str, now: float) -> str | None:
    """The sealed text kept for ``session`` (deleted now), or None: none, or expired. Expired
    texts of any session are deleted too."""
    s = t.ui_shown_once
    mine = (s.c.session == session) & (s.c.kind == kind)
    with db.begin() as conn:
        row = conn.execute(sa.select(s.c.sealed, s.c.expires_at).where(mine)).first()
        if row is not None:
            conn.execute(sa.delete(s).where(mine))
        conn.execute(sa.delete(s).where(s.c.expires_at <= now))
    if row is None or row.expires_at <= now:
        return None
    sealed: str = row.sealed
    return sealed
