"""Storer against a real nats-server with JetStream: stored once, sequence back, clear errors."""

from __future__ import annotations

import asyncio

import nats
import pytest
from nats.js.api import StreamConfig

from lookout.sources.workers.storing import NotStored, Storer
from natsserver import NatsServer

pytestmark = pytest.mark.integration


async def test_many_stored_at_once_each_once(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name="things", subjects=["things.>"]))
        storer = Storer(nc, max_pending=8)  # fewer slots than messages: they wait for room
        await storer.start()

        seqs = await asyncio.gather(
            *(storer.store("things.a", b"%d" % i, f"id-{i}", within=5.0) for i in range(50))
        )
        again = await storer.store("things.a", b"0", "id-0", within=5.0)

        assert sorted(seqs) == list(range(1, 51))
        assert again == seqs[0]  # a copy with the same id is not stored twice
        assert (await js.stream_info("things")).state.messages == 50
    finally:
        await nc.close()


async def test_no_stream_for_the_subject_is_not_stored(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url)
    try:
        storer = Storer(nc)
        await storer.start()

        with pytest.raises(NotStored, match="no stream takes this subject"):
            await storer.store("nowhere", b"x", "id-1", within=5.0)
    finally:
        await nc.close()
