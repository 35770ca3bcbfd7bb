"""Slows down password guessing: after ``limit`` failed log-ins for one user name (or
``address_limit`` from one client address: people share addresses) within ``window`` seconds,
further attempts are refused until the oldest counted failure is out of the window. In memory
(one process per site); a restart forgets, which is fine for a speed bump."""

from __future__ import annotations

from collections import deque


class LoginThrottle:
    def __init__(self, limit: int = 5, address_limit: int = 30, window: float = 300.0) -> None:
        self.limit = limit
        self.address_limit = address_limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def wait(self, keys: tuple[str, ...], now: float) -> float:
        """Seconds until a log-in for ``keys`` (user name, client address) may be tried."""
        waits = []
        for key, limit in zip(keys, (self.limit, self.address_limit), strict=False):
            times = self._recent(key, now)
            if len(times) >= limit:
                waits.append(times[-limit] + self.window - now)
        return max(waits, default=0.0)

    def failed(self, keys: tuple[str, ...], now: float) -> None:
        for key in keys:
            self._recent(key, now)
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, keys: tuple[str, ...]) -> None:
        self._failures.pop(keys[0], None)  # the user's count; the address keeps its own
