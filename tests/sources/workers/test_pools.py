"""A site's NatsRunner and workers in one event loop, against a real nats-server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import nats
import pytest

from livepools import Hooks
from lookout.checks.active.nagios import NagiosParams
from lookout.checks.active.tcp import TcpParams
from lookout.domain.results import CheckResult
from lookout.sources.active.runner import CheckJob
from lookout.sources.workers import wire
from lookout.sources.workers.connection import NatsAccess
from lookout.sources.workers.runner import NatsRunner
from lookout.sources.workers.streams import Layout, StreamOptions, ensure_streams
from lookout.sources.workers.worker import Worker, WorkerOptions
from natsserver import NatsServer

pytestmark = pytest.mark.integration
T = TypeVar("T")
SITE = "alpha"


async def eventually(probe: Callable[[], Awaitable[T]], within: float = 10.0) -> T:
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.05)


@pytest.fixture
async def site_runner(nats_server: NatsServer) -> AsyncIterator[tuple[NatsRunner, Hooks]]:
    hooks = Hooks()
    runner = NatsRunner(
        NatsAccess(nats_server.url),
        SITE,
        hooks,
        options=StreamOptions(ack_wait=1.0),
        pools=["snmp"],
        worker_timeout=2.0,
        sweep_interval=0.1,
    )
    await runner.start()
    async with asyncio.timeout(10):
        await runner.wait_ready()
    try:
        yield runner, hooks
    finally:
        await runner.aclose()


async def start_worker(url: str, pool: str = "default", **options: object) -> Worker:
    worker = Worker(NatsAccess(url), WorkerOptions(site=SITE, pool=pool, heartbeat=0.2, **options))  # type: ignore[arg-type]
    task = asyncio.create_task(worker.run())
    worker.task = task  # type: ignore[attr-defined]
    return worker


async def stop_worker(worker: Worker) -> None:
    worker.stop()
    await worker.task  # type: ignore[attr-defined]


def tcp_job(service: str, port: int) -> CheckJob:
    return CheckJob("web1", service, TcpParams(port=port, timeout=2), "127.0.0.1", time.time())


async def test_a_check_runs_on_a_worker_and_its_result_is_journaled(
    site_runner: tuple[NatsRunner, Hooks], nats_server: NatsServer
) -> None:
    runner, hooks = site_runner
    hooks.commands["say"] = (
        "/bin/sh -c 'echo \"WARNING - said $ARG1$ on $HOSTNAME$ | x=3;1;2\"; exit 1'"
    )
    worker = await start_worker(nats_server.url)
    try:
        tcp, plugin = await asyncio.gather(
            runner.run(tcp_job("Port", 1)),
            runner.run(
                CheckJob("web1", "Say", NagiosParams(command="say", args=("hi",)), "10.0.0.1")
            ),
        )
    finally:
        await stop_worker(worker)

    assert tcp.state == 2
    assert "Connection refused" in tcp.summary
    assert (plugin.state, plugin.summary) == (1, "WARNING - said hi on web1")
    assert [m.name for m in plugin.metrics] == ["x"]
    assert sorted(r.service for r in hooks.applied) == ["Port", "Say"]
    assert runner.counters.results == 2
    assert worker.done == 2


async def test_no_worker_for_the_pool_turns_the_check_unknown_and_its_job_goes(
    site_runner: tuple[NatsRunner, Hooks], nats_server: NatsServer
) -> None:
    runner, hooks = site_runner
    hooks.interval = 0.5
    hooks.pools["Interface"] = "snmp"
    default_worker = await start_worker(nats_server.url)  # another pool's worker does not help
    try:
        result = await runner.run(tcp_job("Interface", 1))
    finally:
        await stop_worker(default_worker)

    assert (result.state, result.summary) == (3, "no worker for pool snmp")
    assert hooks.applied == [result]
    pools = {p.pool: p for p in await runner.pools()}
    assert (pools["snmp"].waiting, pools["snmp"].oldest_job_age) == (0, None)


async def test_a_late_job_is_dropped_by_the_worker(
    site_runner: tuple[NatsRunner, Hooks], nats_server: NatsServer
) -> None:
    nc = await nats.connect(nats_server.url)
    layout = Layout(SITE)
    job = wire.Job(
        id="late1",
        site=SITE,
        pool="default",
        host="web1",
        service="Port",
        address="127.0.0.1",
        check={"type": "tcp", "port": 1},
        scheduled_at=time.time() - 60,
        issued_at=time.time() - 60,
        deadline=time.time() - 30,
    )
    await nc.jetstream().publish(layout.jobs_subject("default"), wire.encode(job))
    await nc.close()
    worker = await start_worker(nats_server.url)
    try:
        assert await eventually(lambda: _value(worker.dropped == 1))
    finally:
        await stop_worker(worker)
    assert worker.done == 0


async def test_a_job_past_its_deadline_is_run_while_the_site_still_waits_for_it(
    site_runner: tuple[NatsRunner, Hooks], nats_server: NatsServer
) -> None:
    # after a JetStream leader change a job may come (again) after its deadline while the
    # site counts it as taken: dropping it then would lose it
    nc = await nats.connect(nats_server.url)
    layout = Layout(SITE)
    now = time.time()
    job = wire.Job(
        id="late2",
        site=SITE,
        pool="default",
        host="web1",
        service="Port",
        address="127.0.0.1",
        check={"type": "tcp", "port": 1},
        scheduled_at=now - 20,
        issued_at=now - 20,
        deadline=now - 10,
        give_up=now + 30,
    )
    await nc.jetstream().publish(layout.jobs_subject("default"), wire.encode(job))
    await nc.close()
    worker = await start_worker(nats_server.url)
    try:
        assert await eventually(lambda: _value(worker.done == 1))
    finally:
        await stop_worker(worker)
    assert worker.dropped == 0


async def test_a_result_that_arrives_twice_is_applied_once(
    site_runner: tuple[NatsRunner, Hooks], nats_server: NatsServer
) -> None:
    runner, hooks = site_runner
    job = tcp_job("Port", 1)
    run = asyncio.create_task(runner.run(job))
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    sub = await js.pull_subscribe_bind("pool_default", Layout(SITE).jobs_stream)
    [msg] = await sub.fetch(1, timeout=5)
    sent = wire.decode_job(msg.data)
    answer = wire.Result(
        job=sent.id,
        issued_at=sent.issued_at,
        worker="w1",
        result=CheckResult("web1", "Port", 0, "fine", checked_at=time.time()),
    )
    # two copies with different message ids: JetStream keeps both, the site applies one
    for copy in ("a", "b"):
        await js.publish(
            Layout(SITE).results_subject, wire.encode(answer), headers={"Nats-Msg-Id": copy}
        )
    await msg.ack()
    result = await run
    await asyncio.sleep(0.5)
    await js.publish(Layout(SITE).results_subject, wire.encode(answer))  # and much later
    assert await eventually(lambda: _value(runner.counters.duplicates == 2))
    await nc.close()

    assert result.summary == "fine"
    assert [r.summary for r in hooks.applied] == ["fine"]


async def test_results_waiting_from_before_a_restart_are_applied_unless_older(
    nats_server: NatsServer,
) -> None:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await ensure_streams(js, Layout(SITE), StreamOptions())  # as the site before it stopped
    hooks = Hooks(last={("web1", "New"): 100.0, ("web1", "Old"): 100.0})
    runner = NatsRunner(NatsAccess(nats_server.url), SITE, hooks)
    for service, issued in (("New", 150.0), ("Old", 50.0)):
        r = wire.Result(
            job=service, issued_at=issued, worker="w1", result=CheckResult("web1", service, 1)
        )
        await js.publish(Layout(SITE).results_subject, wire.encode(r))
    await nc.close()

    await runner.start()
    try:
        assert await eventually(lambda: _value(runner.counters.duplicates == 1))
    finally:
        await runner.aclose()
    assert [r.service for r in hooks.applied] == ["New"]


async def test_pools_show_their_workers_and_queue(
    site_runner: tuple[NatsRunner, Hooks], nats_server: NatsServer
) -> None:
    runner, hooks = site_runner
    hooks.pools["Interface"] = "snmp"
    run = asyncio.create_task(runner.run(tcp_job("Interface", 1)))
    worker = await start_worker(nats_server.url, pool="default", concurrency=3)
    try:

        async def seen() -> bool:
            pools = {p.pool: p for p in await runner.pools()}
            return len(pools["default"].workers) == 1 and pools["snmp"].waiting == 1

        assert await eventually(seen)
        pools = {p.pool: p for p in await runner.pools()}
    finally:
        await stop_worker(worker)
        run.cancel()

    [w] = pools["default"].workers
    assert (w.worker, w.concurrency) == (worker.id, 3)
    assert pools["snmp"].workers == []
    assert pools["snmp"].in_flight == 1
    assert pools["snmp"].oldest_job_age is not None
    assert 0 <= pools["snmp"].oldest_job_age < 10
    assert await eventually(lambda: _value(runner.workers("default") == []))  # it said bye


async def _value(value: T) -> T:
    return value
