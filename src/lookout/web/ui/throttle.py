"""Slows down password guessing: after ``limit`` failed log-ins for one user name (or
``address_limit`` from one client address: people share addresses) within ``window`` seconds,
further attempts are refused until the oldest counted failure is out of the window. The
arithmetic is the shared :class:`~lookout.web.throttle.FailureThrottle` (the REST API's
bearer-token throttle uses it too).

Given the site database, the failures are also written to ``login_failures`` (each at most
``window`` seconds old; expired rows are deleted as new ones come) and read back when the
throttle is made: a restart does not give a guesser a fresh start. The counting itself stays
in memory (one process per site); a write is one small transaction per failed log-in, which
already costs a password hash."""

from __future__ import annotations

import sqlalchemy as sa

from lookout.storage import uistate
from lookout.web.throttle import FailureThrottle


class LoginThrottle(FailureThrottle):
    """Keys of an attempt: ``(user name, client address)``."""

    def __init__(
        self,
        limit: int = 5,
        address_limit: int = 30,
        window: float = 300.0,
        *,
        db: sa.Engine | None = None,
        now: float = 0.0,
    ) -> None:
        super().__init__((limit, address_limit), window)
        self.limit = limit
        self.address_limit = address_limit
        self.db = db
        if db is not None:
            self._replay(uistate.recent_failures(db, now - window))

    def _replay(self, failures: list[tuple[str, float]]) -> None:
        """Count stored failures again, each as the key of an attempt it was."""
        for key, at in failures:
            self.count(0 if key.startswith("user:") else 1, key, at)

    def failed(self, keys: tuple[str, ...], now: float) -> None:
        super().failed(keys, now)
        if self.db is not None:
            uistate.record_failure(self.db, keys, now, now - self.window)

    def succeeded(self, keys: tuple[str, ...]) -> None:
        self.forget(keys[0])  # the user's count; the address keeps its own
        if self.db is not None:
            uistate.forget_failures(self.db, keys[0])
