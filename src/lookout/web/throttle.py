"""Counts failures per key (a user name, a client address) in a sliding window and says how long
a key must wait once it has too many: after ``limits[i]`` failures of the i-th key of an attempt
within ``window`` seconds, further attempts wait until the oldest counted failure is out of the
window. In memory (one process per site); the web UI's log-in throttle also keeps its failures
in the site database, so that a restart does not forget them (``ui/throttle.py``).

Used by the web UI's log-in (``ui/throttle.py``) and by bearer-token authentication of the REST
API (``api/deps.py``). Memory stays bounded: a key keeps at most its limit of times, and keys
whose failures have all left the window are swept out as the table grows.
"""

from __future__ import annotations

from collections import deque

MIN_SWEEP = 1024
"""Keys held before the first sweep of expired ones."""


class FailureThrottle:
    def __init__(self, limits: tuple[int, ...], window: float) -> None:
        self.limits = limits
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._sweep_at = MIN_SWEEP

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
        """Seconds until an attempt for ``keys`` may be made (0: now)."""
        waits = []
        for key, limit in zip(keys, self.limits, strict=False):
            times = self._recent(key, now)
            if len(times) >= limit:
                waits.append(times[-limit] + self.window - now)
        return max(waits, default=0.0)

    def failed(self, keys: tuple[str, ...], now: float) -> None:
        """Count a failed attempt for each of ``keys``."""
        for index, key in enumerate(keys[: len(self.limits)]):
            self.count(index, key, now)
        if len(self._failures) >= self._sweep_at:
            self.sweep(now)

    def count(self, index: int, key: str, now: float) -> None:
        """Count one failure for ``key`` as the ``index``-th key of an attempt."""
        self._recent(key, now)
        self._failures.setdefault(key, deque(maxlen=self.limits[index])).append(now)

    def forget(self, key: str) -> None:
        """Drop the failures counted for ``key``."""
        self._failures.pop(key, None)

    def sweep(self, now: float) -> None:
        """Drop the keys whose failures have all left the window."""
        for key in [k for k, t in self._failures.items() if t[-1] <= now - self.window]:
            del self._failures[key]
        self._sweep_at = max(MIN_SWEEP, 2 * len(self._failures))

    def __len__(self) -> int:
        return len(self._failures)
