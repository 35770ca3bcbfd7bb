"""The outbox against the local Zulip server, with a fake clock (no real waiting)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from notifyrows import row
from zulipserver import ZulipServer

from lookout.notify.channels.base import ChannelContext
from lookout.notify.channels.zulip import ZulipChannel
from lookout.notify.clock import FakeClock
from lookout.notify.dispatcher import Dispatcher
from lookout.notify.health import PROBE_EVERY
from lookout.notify.spec import ZulipSpec
from lookout.notify.store import FAILED, SENT, NotifyStore

pytestmark = pytest.mark.integration


async def settle(n: int = 20) -> None:
    for _ in range(n):
        await asyncio.sleep(0.01)


def dispatcher(store: NotifyStore, server: ZulipServer, clock: FakeClock, **spec: object):
    bot = server.users["bot@zulip.test"]
    zs = ZulipSpec(
        site=server.url,
        email=bot.email,
        api_key=bot.api_key,
        stream="monitoring",
        **spec,  # type: ignore[arg-type]
    )
    d = Dispatcher(store, clock)
    d.set_channels({"chat": ZulipChannel("chat", zs, ChannelContext(store, clock))}, {"chat": zs})
    return d


async def until_sent(store: NotifyStore, clock: FakeClock, n: int, step: float = 5.0) -> None:
    for _ in range(400):
        if len(store.deliveries(status=SENT, limit=10_000)) >= n:
            return
        clock.advance(step)
        await settle(3)
    raise AssertionError(f"only {len(store.deliveries(status=SENT))} of {n} sent")


async def test_zulip_down_ten_minutes_then_every_notification_once_in_order(store: NotifyStore):
    server = ZulipServer(heartbeat=0.5)
    clock = FakeClock(1_000_000.0)
    rows = []
    for i in range(6):  # three topics: problem then recovery each
        rows.append(row(2 * i, service=f"svc-{i}", kind="problem", at=clock.t))
        rows.append(row(2 * i + 1, service=f"svc-{i}", kind="recovery", at=clock.t))
    store.commit_batch(0, clock.t, rows, [], [])
    d = dispatcher(store, server, clock, group_window=0, resolve_topics=False)
    await d.start()  # the server is down: every attempt is refused
    for _ in range(20):  # ten minutes of fake time
        clock.advance(30)
        await settle(3)
    assert store.deliveries(status=SENT) == []
    assert store.deliveries(status=FAILED) == []
    await server.start()
    try:
        await until_sent(store, clock, len(rows))
        await d.stop()
        # a restart finds nothing left to send
        d2 = dispatcher(store, server, clock, group_window=0)
        await d2.start()
        clock.advance(60)
        await settle()
        await d2.stop()
        for i in range(6):
            msgs = server.stream_messages(f"h / svc-{i}")
            assert [m["content"].split("\n")[0] for m in msgs] == [
                f"🔴 **CRIT** · PROBLEM · **svc-{i}** on **h**",
                f"🟢 **OK** · RECOVERY · **svc-{i}** on **h**",
            ]
        assert len(server.stream_messages()) == len(rows)
        # the lane's head was retried with backoff; the rest waited behind it, in order
        assert max(r.attempts for r in store.deliveries(limit=100)) >= 5
    finally:
        await server.stop()


async def test_storm_of_500_problems_gives_a_bounded_number_of_messages(store: NotifyStore):
    server = ZulipServer()
    clock = FakeClock(1_000_000.0)
    await server.start()
    d = dispatcher(store, server, clock, group_window=10, group_burst=3, group_cap=20)
    await d.start()
    try:
        for second in range(10):  # 500 pod problems within 10 s
            rows = [row(second * 50 + i, host="cluster", at=clock.t) for i in range(50)]
            d.add(store.commit_batch(0, clock.t, rows, [], []))
            await settle(3)
            clock.advance(1)
        await until_sent(store, clock, 500, step=2)
        msgs = server.stream_messages()
        assert len(msgs) <= 8, [m["subject"] for m in msgs]
        bundles = [m for m in msgs if "arrived together" in m["content"]]
        assert bundles
        assert "… and" in bundles[0]["content"]
        assert sum(int(m["subject"].split()[0]) for m in bundles) + len(msgs) - len(bundles) == 500
    finally:
        await d.stop()
        await server.stop()


async def test_rate_limit_429_is_honoured(store: NotifyStore):
    server = ZulipServer(rate_limit=3)
    clock = FakeClock(1_000_000.0)
    await server.start()
    rows = [row(i, service=f"s{i}", kind="recovery", at=clock.t) for i in range(5)]
    store.commit_batch(0, clock.t, rows, [], [])
    d = dispatcher(store, server, clock, group_window=0, rate_per_minute=1000)
    await d.start()
    try:
        await settle(30)
        pending = sorted(store.deliveries(status="pending"), key=lambda r: r.id)
        assert pending, "the server's limit (3/min) must hold some back"
        assert "429" in pending[0].error
        assert pending[0].due_at >= clock.t + 1  # Retry-After
        server.rate_limit = 1000
        await until_sent(store, clock, 5, step=10)
        assert len(server.stream_messages()) == 5
    finally:
        await d.stop()
        await server.stop()


async def test_interrupted_send_is_not_repeated(store: NotifyStore):
    server = ZulipServer()
    clock = FakeClock()
    store.commit_batch(0, clock.t, [row(1, kind="recovery")], [], [])
    d0 = store.deliveries()[0]
    store.mark_attempt([d0.id])  # the process died while this was in flight
    d = dispatcher(store, server, clock)
    await d.start()
    await d.stop()
    (after,) = store.deliveries()
    assert after.status == FAILED
    assert "interrupted" in after.error


async def test_pending_deliveries_survive_a_restart(store: NotifyStore):
    server = ZulipServer()
    clock = FakeClock()
    store.commit_batch(
        0, clock.t, [row(i, kind="recovery", service=f"s{i}") for i in range(3)], [], []
    )
    d = dispatcher(store, server, clock, group_window=0)
    await d.start()  # Zulip is down: nothing goes out
    await settle()
    await d.stop()
    assert len(store.pending()) == 3
    await server.start()
    try:
        d2 = dispatcher(store, server, clock, group_window=0)
        await d2.start()
        await until_sent(store, clock, 3)
        await d2.stop()
        assert len(server.stream_messages()) == 3
    finally:
        await server.stop()


async def test_a_failing_channel_does_not_block_another(store: NotifyStore):
    from lookout.notify.channels.webhook import WebhookChannel
    from lookout.notify.spec import WebhookSpec

    server = ZulipServer()
    clock = FakeClock()
    await server.start()
    try:
        rows = [row(i, kind="recovery", service=f"s{i}", channel="dead") for i in range(3)]
        rows += [row(10 + i, kind="recovery", service=f"s{i}") for i in range(3)]
        store.commit_batch(0, clock.t, rows, [], [])
        d = dispatcher(store, server, clock, group_window=0)
        dead = WebhookSpec(url="http://127.0.0.1:9/nothing-listens", group_window=0)
        d.set_channels(
            {**d.drivers, "dead": WebhookChannel("dead", dead, ChannelContext(store, clock))},
            {**d.specs, "dead": dead},
        )
        await d.start()
        await until_sent(store, clock, 3)
        assert len(server.stream_messages()) == 3
        dead_rows = store.deliveries(channel="dead")
        assert all(r.status == "pending" and r.error for r in dead_rows)
        await d.stop()
    finally:
        await server.stop()


async def test_after_an_outage_the_first_message_goes_within_a_probe(
    store: NotifyStore, caplog: pytest.LogCaptureFixture
) -> None:
    server = ZulipServer(heartbeat=0.5)
    clock = FakeClock(1_000_000.0)
    store.commit_batch(0, clock.t, [row(1, kind="problem", at=clock.t)], [], [])
    d = dispatcher(store, server, clock, group_window=0, resolve_topics=False)
    caplog.set_level(logging.INFO, logger="lookout.notify.dispatcher")
    await d.start()
    for _ in range(30):  # five minutes down: the backoff has grown to 256 s
        clock.advance(10)
        await settle(3)
    assert d.health.get("chat").failing
    assert store.deliveries()[0].due_at > clock.t + 120  # the next attempt is minutes away
    await server.start()
    try:
        back = clock.t
        for _ in range(40):
            if server.stream_messages():
                break
            clock.advance(1)
            await settle(3)
        assert server.stream_messages(), "nothing sent after Zulip came back"
        assert clock.t - back <= PROBE_EVERY + 1  # a probe found Zulip back
        assert not d.health.get("chat").failing
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 2, warnings  # the outage, not every retry
        assert warnings[0].startswith("channel chat is failing: cannot reach Zulip")
        assert warnings[1].startswith("channel chat delivers again after 3")
    finally:
        await d.stop()
        await server.stop()


async def test_a_bundle_across_topics_is_posted_once_per_topic_despite_a_retry(
    store: NotifyStore,
) -> None:
    server = ZulipServer()
    clock = FakeClock(1_000_000.0)
    store.record_message("chat", 1, [("h", "a")], "monitoring", "h / a", clock.t)
    store.record_message("chat", 2, [("h", "b"), ("h", "c")], "monitoring", "storm #7", clock.t)
    rows = [row(i, kind="recovery", service=s, at=clock.t) for i, s in enumerate("abc")]
    store.commit_batch(0, clock.t, rows, [], [])
    d = dispatcher(store, server, clock, group_window=10, resolve_topics=False)
    server.unavailable_topics["storm #7"] = 1  # the second part fails once
    await server.start()
    try:
        await d.start()
        await until_sent(store, clock, 3)
        assert [m["content"].split("\n")[0] for m in server.stream_messages("h / a")] == [
            "🟢 **OK** · RECOVERY · **a** on **h**"  # once, although the bundle was retried
        ]
        storm = server.stream_messages("storm #7")
        assert [m["content"].split("\n")[0] for m in storm] == ["**2 recovered:**"]
        assert store.deliveries()[0].attempts == 2
    finally:
        await d.stop()
        await server.stop()
