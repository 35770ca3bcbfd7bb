"""A running in-process site with a fake clock, for notifier tests: the fixture's body and the
helpers that read what it delivered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from harness import Harness, until

from lookout.notify.clock import FakeClock
from lookout.notify.store import Delivery

HOOK = {"name": "hook", "spec": {"type": "webhook", "url": "http://127.0.0.1:9/none"}}


async def running_site(tmp_path: Path) -> AsyncIterator[Harness]:
    """A started harness whose ``clock`` is a :class:`FakeClock` (stopped afterwards)."""
    clock = FakeClock(1_800_000_000.0)
    harness = Harness(tmp_path, clock=clock)
    await harness.start()
    harness.clock = clock  # type: ignore[attr-defined]
    try:
        yield harness
    finally:
        await harness.stop()


def rows(h: Harness, **kw: str) -> list[Delivery]:
    return sorted(h.site.notifier.store.deliveries(limit=1000, **kw), key=lambda d: d.id)


async def settled(h: Harness) -> None:
    n = h.site.notifier
    await until(lambda: n.cursor >= h.site.engine.next_id - 1 or not h.site.bus.depth)
    await until(lambda: h.site.bus.depth == 0)
    await n.catch_up()
