"""A virtual-time event loop: time only moves when every task waits (like kopf's looptime)."""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Iterator

import pytest

START = 1000.0
"""Virtual time when a test begins."""


class _FastForwardSelector(selectors.DefaultSelector):
    """Polls without blocking; where the loop would block, jumps the virtual clock instead."""

    now = START

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            raise RuntimeError("deadlock: every task waits and no timer is set")
        self.now += timeout
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose ``time()`` is virtual, so ``asyncio.sleep(3600)`` takes no time."""

    def __init__(self) -> None:
        self._virtual = _FastForwardSelector()
        super().__init__(self._virtual)

    def time(self) -> float:
        return self._virtual.now


@pytest.fixture
def vloop() -> Iterator[asyncio.AbstractEventLoop]:
    """A fresh virtual-time loop; run a scenario with ``vloop.run_until_complete(...)``."""
    loop = VirtualTimeLoop()
    try:
        yield loop
    finally:
        loop.close()
