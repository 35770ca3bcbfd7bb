"""A token bucket per channel, plus pauses a server asks for (429 ``Retry-After``)."""

from __future__ import annotations

import asyncio

from lookout.notify.clock import Clock


class RateLimiter:
    def __init__(self, per_minute: int, clock: Clock, burst: int | None = None) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(burst or max(1, min(per_minute, 20)))
        self.tokens = self.capacity
        self.clock = clock
        self.stamp = clock.now()
        self.paused_until = 0.0
        self._never = asyncio.Event()

    def _refill(self) -> None:
        now = self.clock.now()
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def pause(self, until: float) -> None:
        """No request before ``until`` (the server said so)."""
        self.paused_until = max(self.paused_until, until)
        self.tokens = 1.0
        self.stamp = max(self.stamp, until)

    async def acquire(self) -> None:
        while True:
            now = self.clock.now()
            if now < self.paused_until:
                await self.clock.wait(self._never, self.paused_until)
                continue
            self._refill()
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return
            await self.clock.wait(self._never, now + (1.0 - self.tokens) / self.rate)
