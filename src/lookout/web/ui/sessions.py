"""Server-side web UI sessions: a random cookie, stored only as its SHA-256, with a per-session
CSRF token. Rows live in ``ui_sessions`` (a restart keeps people logged in); a small in-memory
cache spares the database a query per page view."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

import sqlalchemy as sa

from lookout.auth import Role
from lookout.storage import tables as t

COOKIE = "lookout_session"
LOGIN_COOKIE = "lookout_login_csrf"


def cookie_names(site_name: str, url: str) -> tuple[str, str]:
    """The session and log-in cookie names of one site. Browsers keep cookies per host name,
    not per port, so sites on one host (the site manager's) need names of their own, or a log-in
    to one site would log the browser out of the others."""
    tag = hashlib.sha256(f"{site_name}\0{url}".encode()).hexdigest()[:10]
    return f"{COOKIE}_{tag}", f"{LOGIN_COOKIE}_{tag}"


@dataclass(slots=True)
class Session:
    """A logged-in browser: who, with which role, until when, and its CSRF token."""

    id_hash: str
    user: str
    role: Role
    csrf: str
    expires_at: float
    checked_at: float = 0.0
    flash: list[tuple[str, str]] = field(default_factory=list)

    def can(self, needed: Role) -> bool:
        return self.role.allows(needed)

    def csrf_ok(self, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(self.csrf, presented or "")


def _hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


REVALIDATE = 30.0
"""Seconds a cached session is trusted before it is checked against the database again (the
user deleted, their role changed, their sessions ended by ``lookout user passwd``)."""


class SessionStore:
    """Create, find and end sessions. All methods are quick and synchronous (one small query
    at most); callers on the event loop may call them directly."""

    def __init__(self, db: sa.Engine, lifetime: float) -> None:
        self.db = db
        self.lifetime = lifetime
        self._cache: dict[str, Session] = {}

    def create(self, user: str, role: Role, now: float) -> tuple[str, Session]:
        """A new session for ``user``; returns the cookie value (shown to the browser only)."""
        cookie = secrets.token_urlsafe(32)
        sess = Session(
            id_hash=_hash(cookie),
            user=user,
            role=role,
            csrf=secrets.token_urlsafe(32),
            expires_at=now + self.lifetime,
            checked_at=now,
        )
        with self.db.begin() as conn:
            conn.execute(
                t.ui_sessions.insert().values(
                    id_hash=sess.id_hash,
                    user=user,
                    role=role.value,
                    csrf=sess.csrf,
                    created_at=now,
                    expires_at=sess.expires_at,
                )
            )
            conn.execute(sa.delete(t.ui_sessions).where(t.ui_sessions.c.expires_at < now))
        self._cache[sess.id_hash] = sess
        return cookie, sess

    def lookup(self, cookie: str | None, now: float) -> Session | None:
        if not cookie:
            return None
        key = _hash(cookie)
        sess = self._cache.get(key)
        if sess is None or now - sess.checked_at >= REVALIDATE:
            sess = self._load(key, now)
            if sess is None:
                return None
        if now >= sess.expires_at:
            self.end(sess)
            return None
        return sess

    def _load(self, key: str, now: float) -> Session | None:
        """The session row with its user's current role (None: ended, or the user is gone)."""
        s, u = t.ui_sessions, t.users
        query = (
            sa.select(s.c.user, s.c.csrf, s.c.expires_at, u.c.role)
            .join(u, u.c.name == s.c.user)
            .where(s.c.id_hash == key)
        )
        with self.db.connect() as conn:
            row = conn.execute(query).first()
        old = self._cache.pop(key, None)
        if row is None:
            return None
        sess = Session(
            id_hash=key,
            user=row.user,
            role=Role(row.role),
            csrf=row.csrf,
            expires_at=row.expires_at,
            checked_at=now,
            flash=old.flash if old is not None else [],
        )
        self._cache[key] = sess
        return sess

    def end(self, sess: Session) -> None:
        self._cache.pop(sess.id_hash, None)
        with self.db.begin() as conn:
            conn.execute(sa.delete(t.ui_sessions).where(t.ui_sessions.c.id_hash == sess.id_hash))

    def end_user(self, user: str) -> None:
        """Log a user out everywhere (password or role changed, user deleted)."""
        for key in [k for k, s in self._cache.items() if s.user == user]:
            del self._cache[key]
        with self.db.begin() as conn:
            conn.execute(sa.delete(t.ui_sessions).where(t.ui_sessions.c.user == user))


def end_user_sessions(db: sa.Engine, user: str) -> None:
    """For commands that work on the site database while the site may be running elsewhere."""
    with db.begin() as conn:
        conn.execute(sa.delete(t.ui_sessions).where(t.ui_sessions.c.user == user))
