"""ResultSender against a real nats-server with JetStream: results go many per message, each
stored once, and a sender waits until its result is stored."""

from __future__ import annotations

import asyncio

import nats
import pytest
from nats.js.api import StreamConfig

from lookout.domain.results import CheckResult
from lookout.sources.workers import wire
from lookout.sources.workers.batching import ResultSender
from lookout.sources.workers.storing import Storer
from natsserver import NatsServer

pytestmark = pytest.mark.integration


def encoded(i: int) -> bytes:
    result = CheckResult("h", f"svc{i}", 0, "OK " + "x" * 100, checked_at=1.0)
    return wire.encode(wire.Result(job=f"j{i}", issued_at=1.0, worker="w", result=result))


async def test_results_sent_at_once_share_messages(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name="results", subjects=["results"]))
        storer = Storer(nc)
        await storer.start()
        sender = ResultSender(storer, "results", "w-", max_bytes=2_000)
        sending = asyncio.create_task(sender.run())

        await asyncio.gather(*(sender.send(encoded(i)) for i in range(100)))
        sending.cancel()

        sub = await js.pull_subscribe("results", "all")
        msgs = await sub.fetch(100, timeout=2.0)
        got = [r.job for m in msgs for r in wire.decode_results(m.data)]
        assert got == [f"j{i}" for i in range(100)]  # each once, in order
        assert 1 < len(msgs) < 100  # batches, none above max_bytes (about 14 results)
        assert all(len(m.data) <= 2_000 for m in msgs)
        assert sender.batches == len(msgs)
    finally:
        await nc.close()


async def test_a_result_waits_until_it_is_stored(nats_server: NatsServer) -> None:
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        storer = Storer(nc)
        await storer.start()
        failures: list[BaseException] = []
        tried_again = asyncio.Event()

        def failed(exc: BaseException) -> None:
            failures.append(exc)
            if len(failures) >= 2:
                tried_again.set()

        sender = ResultSender(storer, "late", "w-", within=0.5, retry=0.1, report=failed)
        sending = asyncio.create_task(sender.run())
        sent = asyncio.create_task(sender.send(encoded(1)))

        await asyncio.wait_for(tried_again.wait(), 5.0)  # no stream takes the subject yet
        assert not sent.done()
        await js.add_stream(StreamConfig(name="late", subjects=["late"]))
        await asyncio.wait_for(sent, 5.0)
        sending.cancel()

        assert (await js.stream_info("late")).state.messages == 1
    finally:
        await nc.close()


def test_one_result_alone_is_still_a_message_of_results() -> None:
    assert [r.job for r in wire.decode_results(encoded(7))] == ["j7"]
    assert [r.job for r in wire.decode_results(wire.encode_batch([encoded(1), encoded(2)]))] == [
        "j1",
        "j2",
    ]
