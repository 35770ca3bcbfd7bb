"""A worker's results go to JetStream in batches: many results per message.

One message per result cost, per check, a publish, JetStream's acknowledgement, a delivery
to the site and the site's acknowledgement, each parsed by nats-py on both ends and handled
by nats-server. Here results wait in a queue while ``in_flight`` batches are being stored, and
the next message takes all of them (up to ``max_bytes``): at a trickle each result still
goes at once, alone; under load the batches grow by themselves, with no timer to wait for.
More than one batch on the way keeps a slow acknowledgement from holding up the others.

A batch is stored with ``Nats-Msg-Id`` = the sender's id and a counter, the same id on every
try, so JetStream stores it once. A result counts as sent only once its batch is stored; the
worker acknowledges the job after that, as before. The site applies each result of a batch
on its own (a copy is dropped there by its age).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable

import nats.errors

from lookout.sources.workers import wire
from lookout.sources.workers.storing import Storer

log = logging.getLogger(__name__)

MAX_BYTES = 256 * 1024
"""Bytes of results per message at most (NATS's default largest message is 1 MiB)."""


class ResultSender:
    """Publishes results in batches on ``subject`` (see the module)."""

    def __init__(
        self,
        storer: Storer,
        subject: str,
        prefix: str,
        *,
        max_bytes: int = MAX_BYTES,
        within: float = 5.0,
        retry: float = 0.5,
        in_flight: int = 4,
        report: Callable[[BaseException], None] = lambda exc: None,
    ) -> None:
        self._storer = storer
        self._subject = subject
        self._prefix = prefix
        self._max_bytes = max_bytes
        self._within = within
        self._retry = retry
        self._report = report
        self._ids = itertools.count()
        self._queue: list[tuple[bytes, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._room = asyncio.Semaphore(in_flight)
        self.batches = 0
        """Messages stored so far."""

    async def send(self, result: bytes) -> None:
        """Queue one encoded result (:func:`wire.encode`); returns once it is stored."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((result, done))
        self._wake.set()
        await done

    async def run(self) -> None:
        """Send what is queued, at most ``in_flight`` batches at a time, until cancelled."""
        storing: set[asyncio.Task[None]] = set()
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._queue:
                    await self._room.acquire()
                    task = asyncio.create_task(self._send(self._take()))
                    storing.add(task)
                    task.add_done_callback(storing.discard)
        finally:
            for task in storing:
                task.cancel()
            await asyncio.gather(*storing, return_exceptions=True)

    async def _send(self, batch: list[tuple[bytes, asyncio.Future[None]]]) -> None:
        try:
            await self._store(batch)
        finally:
            self._room.release()
        for _, done in batch:
            if not done.done():
                done.set_result(None)

    def _take(self) -> list[tuple[bytes, asyncio.Future[None]]]:
        size, n = 0, 0
        for body, _ in self._queue:
            if n and size + len(body) > self._max_bytes:
                break
            size += len(body)
            n += 1
        batch, self._queue = self._queue[:n], self._queue[n:]
        return batch

    async def _store(self, batch: list[tuple[bytes, asyncio.Future[None]]]) -> None:
        """Store ``batch`` as one message, trying until JetStream has it."""
        body = wire.encode_batch([one for one, _ in batch])
        msg_id = f"{self._prefix}{next(self._ids):x}"
        while True:
            try:
                await self._storer.store(self._subject, body, msg_id, within=self._within)
                self.batches += 1
                return
            except (nats.errors.Error, OSError, TimeoutError) as exc:
                self._report(exc)
                await asyncio.sleep(self._retry)
