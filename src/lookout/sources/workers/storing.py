"""Publishing to JetStream and waiting until it is stored, without a request per message.

nats-py's ``JetStreamContext.publish`` is a request: per message a reply token from
``os.urandom`` and a ``wait_for`` (a task and a timer); its ``publish_async`` turns a
cancellation while it waits for room into another error. Here one reply subscription per
connection serves every publish, tokens are a counter, a message waits under one
``asyncio.timeout``, and at most ``max_pending`` wait at once (flow control: a publisher waits
for room, cancellably). JetStream's answer is the same as for a request: the stored
sequence, or an error.
"""

from __future__ import annotations

import asyncio
import itertools
import json

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg

NO_RESPONDERS = "503"


class NotStored(nats.errors.Error):
    """JetStream did not store the message (no stream for the subject, or its error)."""


class Storer:
    """Publishes messages with ``Nats-Msg-Id`` and waits for JetStream's acknowledgement."""

    def __init__(self, nc: Client, max_pending: int = 4096) -> None:
        self._nc = nc
        self._room = asyncio.Semaphore(max_pending)
        self._tokens = itertools.count()
        self._waiting: dict[str, asyncio.Future[int]] = {}
        self._prefix = ""

    async def start(self) -> None:
        """Subscribe to the replies (once per connection; nats-py renews it on reconnect)."""
        inbox = self._nc.new_inbox()
        self._prefix = f"{inbox}."
        await self._nc.subscribe(f"{inbox}.*", cb=self._reply)

    async def store(self, subject: str, body: bytes, msg_id: str, within: float) -> int:
        """Publish ``body`` on ``subject``; the stream sequence once JetStream stored it.

        Raises ``TimeoutError`` after ``within`` seconds (room to wait for included),
        ``NotStored`` or nats-py's errors; a retry with the same ``msg_id`` is stored once.
        """
        async with asyncio.timeout(within), self._room:
            token = f"{next(self._tokens):x}"
            answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            self._waiting[token] = answer
            try:
                headers = {"Nats-Msg-Id": msg_id}
                await self._nc.publish(subject, body, reply=self._prefix + token, headers=headers)
                return await answer
            finally:
                del self._waiting[token]

    async def _reply(self, msg: Msg) -> None:
        answer = self._waiting.get(msg.subject[len(self._prefix) :])
        if answer is None or answer.done():
            return  # it timed out meanwhile: the sender tries again with the same id
        if msg.headers and msg.headers.get("Status") == NO_RESPONDERS:
            answer.set_exception(NotStored("no stream takes this subject"))
            return
        try:
            reply = json.loads(msg.data)
            error = reply.get("error")
            if error is not None:
                answer.set_exception(NotStored(f"JetStream: {error.get('description', error)}"))
            else:
                answer.set_result(int(reply["seq"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            answer.set_exception(NotStored(f"JetStream answered {msg.data[:200]!r}: {exc}"))
