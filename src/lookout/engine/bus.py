"""In-process event bus: the engine publishes committed events, consumers subscribe.

A consumer gets a bounded queue. A slow consumer never slows the engine: when its queue is full
the oldest event is dropped and counted (consumers that must not miss anything, such as the
notifier, read the durable event log by id and use the bus only as a wake-up).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from lookout.domain.events import Event


class Subscription:
    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.dropped = 0

    async def get(self) -> Event:
        return await self.queue.get()

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
        for ev in events:
            self.published += 1
            for sub in self._subs:
                q = sub.queue
                if q.full():
                    q.get_nowait()
                    sub.dropped += 1
                q.put_nowait(ev)

    @property
    def depth(self) -> int:
        """Events waiting in all subscribers' queues."""
        return sum(s.queue.qsize() for s in self._subs)
