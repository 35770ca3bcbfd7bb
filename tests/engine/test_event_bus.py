"""The in-process event bus: batches handed over whole, oldest dropped when full, waiters woken."""

from __future__ import annotations

import asyncio

from lookout.domain.events import Event, EventType
from lookout.engine.bus import EventBus


def _events(first: int, n: int) -> list[Event]:
    return [
        Event(id=i, at=float(i), type=EventType.COMMENT, host="h") for i in range(first, first + n)
    ]


def test_a_publication_reaches_every_subscriber_in_order() -> None:
    bus = EventBus()
    a, b = bus.subscribe(100), bus.subscribe(100)
    bus.publish(_events(1, 3))
    bus.publish(iter(_events(4, 2)))  # any iterable
    assert bus.published == 5
    assert bus.depth == 10
    assert [e.id for e in a.take(10)] == [1, 2, 3, 4, 5]
    assert [b.get_nowait().id, *(e.id for e in b.take(2))] == [1, 2, 3]
    assert b.qsize() == 2
    assert a.empty()


def test_a_full_queue_drops_the_oldest_and_counts_them() -> None:
    bus = EventBus()
    sub = bus.subscribe(3)
    bus.publish(_events(1, 5))
    assert sub.dropped == 2
    assert [e.id for e in sub.take(10)] == [3, 4, 5]
    sub.close()
    bus.publish(_events(6, 1))
    assert sub.empty()
    assert bus.depth == 0


def test_get_waits_for_the_next_publication() -> None:
    async def run() -> list[int]:
        bus = EventBus()
        sub = bus.subscribe()
        waiting = asyncio.create_task(sub.get())
        await asyncio.sleep(0)
        assert not waiting.done()
        bus.publish(_events(7, 2))
        first = await asyncio.wait_for(waiting, 1)
        return [first.id, (await sub.get()).id]

    assert asyncio.run(run()) == [7, 8]
