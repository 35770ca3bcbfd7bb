"""Half-logged-in browsers: the password was right, the second factor is still to come (a code,
or enrolment when the site requires one). This is not a session: ``web.current`` never sees it,
so it reaches no page but the second step's. It lives in memory for five minutes under its own
cookie (scoped to ``/login``); a restart in between means typing the password again."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

from lookout.auth import Role

PENDING_SECONDS = 300.0
Purpose = Literal["code", "enrol"]


@dataclass(frozen=True, slots=True)
class Pending:
    user: str
    role: Role
    next: str
    purpose: Purpose
    csrf: str
    expires_at: float

    def csrf_ok(self, presented: str) -> bool:
        return bool(presented) and hmac.compare_digest(self.csrf, presented)


def _hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


class PendingLogins:
    def __init__(self) -> None:
        self._by_hash: dict[str, Pending] = {}

    def create(self, user: str, role: Role, next_url: str, purpose: Purpose, now: float) -> str:
        """A new half log-in; returns its cookie value."""
        self._by_hash = {k: p for k, p in self._by_hash.items() if p.expires_at > now}
        cookie = secrets.token_urlsafe(32)
        self._by_hash[_hash(cookie)] = Pending(
            user, role, next_url, purpose, secrets.token_urlsafe(24), now + PENDING_SECONDS
        )
        return cookie

    def get(self, cookie: str | None, now: float) -> Pending | None:
        pending = self._by_hash.get(_hash(cookie)) if cookie else None
        if pending is None or pending.expires_at <= now:
            return None
        return pending

    def end(self, cookie: str | None) -> None:
        if cookie:
            self._by_hash.pop(_hash(cookie), None)
