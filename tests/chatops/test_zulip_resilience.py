"""End to end through a site, with fake time: Zulip down for ten minutes, and a storm."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from harness import Harness, until, zulip_channel
from zulipserver import ZulipServer

from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult
from lookout.engine.inputs import Results
from lookout.notify.clock import FakeClock

pytestmark = pytest.mark.integration


@pytest.fixture
async def timed(tmp_path: Path) -> AsyncIterator[tuple[Harness, FakeClock]]:
    clock = FakeClock(1_800_000_000.0)
    h = Harness(tmp_path, clock=clock, notifications={"self_monitoring": True})
    await h.start()
    try:
        yield h, clock
    finally:
        await h.stop()


async def run_for(clock: FakeClock, seconds: float, step: float) -> None:
    for _ in range(int(seconds / step)):
        clock.advance(step)
        for _ in range(3):
            await asyncio.sleep(0.01)


async def test_zulip_down_ten_minutes_every_notification_once_in_order(
    timed: tuple[Harness, FakeClock],
) -> None:
    h, clock = timed
    zulip = ZulipServer()  # not started: Zulip is down
    await h.configure(
        [zulip_channel(zulip, listen=False, resolve_topics=False)],
        [{"name": "all", "channels": ["chat"]}],
    )
    for i in range(3):
        await h.service("db1", f"svc{i}")
    for state in (2, 0, 2):  # problem, recovery, problem again on every service
        for i in range(3):
            await h.result("db1", f"svc{i}", state, f"state {state}")
        await run_for(clock, 200, 20)  # ten minutes in all
    store = h.site.notifier.store
    assert store.deliveries(status="sent") == []
    selfmon = h.site.engine.status[("lookout", "Notifications chat")]  # self-monitoring
    assert selfmon.state == 2
    assert "failing since" in selfmon.summary
    assert "cannot reach Zulip" in selfmon.summary

    def db1() -> list[dict[str, object]]:
        return [m for m in zulip.stream_messages() if str(m["subject"]).startswith("db1 / ")]

    await zulip.start()
    try:
        await until(lambda: len(db1()) == 9 or run_for_sync(clock), what="9 messages")
        for i in range(3):
            heads = [m["content"].split("\n")[0] for m in zulip.stream_messages(f"db1 / svc{i}")]
            what = f"**svc{i}** on **db1**"
            assert heads == [
                f"🔴 **CRIT** · PROBLEM · {what}",
                f"🟢 **OK** · RECOVERY · {what}",
                f"🔴 **CRIT** · PROBLEM · {what}",
            ]
        await until(lambda: selfmon.state == 0 or run_for_sync(clock), what="self-monitoring OK")
        await run_for(clock, 120, 20)
        assert len(db1()) == 9  # and nothing twice
        assert {d.status for d in store.deliveries()} == {"sent"}
        # the outage itself was notified too (to Zulip: late, as a record of it)
        outage = [m["content"].split("\n")[0] for m in zulip.stream_messages() if m not in db1()]
        assert outage == [
            "🔴 **CRIT** · PROBLEM · **Notifications chat** on **lookout**",
            "🟢 **OK** · RECOVERY · **Notifications chat** on **lookout**",
        ]
    finally:
        await zulip.stop()


def run_for_sync(clock: FakeClock) -> bool:
    clock.advance(30)
    return False


async def test_storm_of_500_pods_gives_few_messages(timed: tuple[Harness, FakeClock]) -> None:
    h, clock = timed
    zulip = ZulipServer()
    await zulip.start()
    try:
        await h.configure(
            [zulip_channel(zulip, listen=False, group_window=10)],
            [{"name": "all", "channels": ["chat"], "events": ["problem"]}],
        )
        site = h.site
        await site.save_host(HostConfig(name="cluster-a"), create=True)
        for i in range(500):
            cfg = ServiceConfig(host="cluster-a", name=f"Pod api-{i}", max_check_attempts=1)
            await site.save_service(cfg, create=True)
        for second in range(10):  # 500 pod problems within 10 s
            batch = [
                CheckResult("cluster-a", f"Pod api-{second * 50 + i}", 2, "CrashLoopBackOff")
                for i in range(50)
            ]
            await site.runner.apply(Results(at=clock.t, results=batch))
            await run_for(clock, 1, 1)
        store = site.notifier.store
        await until(
            lambda: len(store.deliveries(status="sent", limit=1000)) == 500 or run_for_sync(clock),
            what="all 500 delivered",
        )
        msgs = zulip.stream_messages()
        assert len(msgs) <= 8, [m["subject"] for m in msgs]
        bundle = next(m for m in msgs if "arrived together" in m["content"])
        assert "… and" in bundle["content"]
    finally:
        await zulip.stop()
