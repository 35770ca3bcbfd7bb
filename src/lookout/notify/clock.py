"""Time for the notifier: real, or a fake one tests move by hand (no real waiting)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def now(self) -> float: ...

    async def wait(self, event: asyncio.Event, until: float) -> None:
        """Return when ``event`` is set or the clock reaches ``until``."""


class RealClock:
    def now(self) -> float:
        return time.time()

    async def wait(self, event: asyncio.Event, until: float) -> None:
        delay = until - time.time()
        if delay <= 0 or event.is_set():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(min(delay, 3600.0)):  # wait_for may swallow cancels (3.11)
                await event.wait()


class CallableClock(RealClock):
    """Real waiting, time from a function (a site's injectable clock)."""

    def __init__(self, fn: Callable[[], float]) -> None:
        self.fn = fn

    def now(self) -> float:
        return self.fn()


class FakeClock:
    """A clock that only moves when a test calls :meth:`advance`."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.t = start
        self._moved = asyncio.Event()

    def now(self) -> float:
        return self.t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds
        self._moved.set()
        self._moved = asyncio.Event()

    async def wait(self, event: asyncio.Event, until: float) -> None:
        while not event.is_set() and self.t < until:
            moved = self._moved
            waiter = asyncio.ensure_future(event.wait())
            mover = asyncio.ensure_future(moved.wait())
            try:
                await asyncio.wait({waiter, mover}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
                mover.cancel()
