"""In-process event bus: the engine publishes committed events, consumers subscribe.

A consumer gets a bounded queue. A slow consumer never slows the engine: when its queue is full
the oldest events are dropped and counted (consumers that must not miss anything, such as the
notifier, read the durable event log by id and use the bus only as a wake-up).

A publication hands each queue the whole list at once (a deque and one wake-up), not event by
event through an ``asyncio.Queue``: under churn every result is an event, and the per-event
``put_nowait`` was a visible share of the site's work.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable

from lookout.domain.events import Event


class Subscription:
    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self.maxsize = maxsize
        self._items: deque[Event] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.dropped = 0

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)

    def get_nowait(self) -> Event:
        """The oldest event (IndexError when there is none)."""
        return self._items.popleft()

    def take(self, limit: int) -> list[Event]:
        """Up to ``limit`` of the oldest events, without waiting."""
        items = self._items
        if len(items) <= limit:
            out = list(items)
            items.clear()
            return out
        return [items.popleft() for _ in range(limit)]

    async def get(self) -> Event:
        while not self._items:
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None
        return self._items.popleft()

    def _put(self, events: list[Event]) -> None:
        items = self._items
        items.extend(events)
        over = len(items) - self.maxsize
        if self.maxsize > 0 and over > 0:
            for _ in range(over):
                items.popleft()
            self.dropped += over
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close(self) -> None:
        self._bus.unsubscribe(self)


class EventBus:
    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self.published = 0

    def subscribe(self, maxsize: int = 10_000) -> Subscription:
        sub = Subscription(self, maxsize)
        self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    def publish(self, events: Iterable[Event]) -> None:
        batch = events if isinstance(events, list) else list(events)
        if not batch:
            return
        self.published += len(batch)
        for sub in self._subs:
            sub._put(batch)

    @property
    def depth(self) -> int:
        """Events waiting in all subscribers' queues."""
        return sum(s.qsize() for s in self._subs)
