"""Slows down password guessing: after ``limit`` failed log-ins for one user name (or
``address_limit`` from one client address: people share addresses) within ``window`` seconds,
further attempts are refused until the oldest counted failure is out of the window. The
arithmetic is the shared :class:`~lookout.web.throttle.FailureThrottle` (the REST API's
bearer-token throttle uses it too)."""

from __future__ import annotations

from lookout.web.throttle import FailureThrottle


class LoginThrottle(FailureThrottle):
    """Keys of an attempt: ``(user name, client address)``."""

    def __init__(self, limit: int = 5, address_limit: int = 30, window: float = 300.0) -> None:
        super().__init__((limit, address_limit), window)
        self.limit = limit
        self.address_limit = address_limit

    def succeeded(self, keys: tuple[str, ...]) -> None:
        self.forget(keys[0])  # the user's count; the address keeps its own
