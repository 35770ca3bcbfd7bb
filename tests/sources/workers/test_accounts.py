"""Each site's streams live in its own NATS account: a worker of tenant B can neither read
tenant A's jobs nor publish A's results. Tenant A's worker user holds only the permissions a
worker needs (deploy/nats/accounts.conf is the same configuration)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import nats.errors
import nats.js.errors
import pytest
from nats.aio.msg import Msg

from livepools import Hooks
from lookout.checks.active.tcp import TcpParams
from lookout.domain.results import CheckResult
from lookout.sources.active.runner import CheckJob
from lookout.sources.workers import wire
from lookout.sources.workers.connection import NatsAccess
from lookout.sources.workers.runner import NatsRunner
from lookout.sources.workers.streams import Layout
from lookout.sources.workers.worker import Worker, WorkerOptions
from natsserver import NatsServer, require_binary, single

pytestmark = pytest.mark.integration

ACCOUNTS = Path(__file__).parents[3] / "deploy" / "nats" / "accounts.conf"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NatsServer]:
    require_binary()
    s = single(tmp_path / "nats", config=ACCOUNTS.read_text())
    try:
        yield s
    finally:
        s.stop()


def url(server: NatsServer, user: str, password: str) -> str:
    return f"nats://{user}:{password}@127.0.0.1:{server.port}"


@pytest.fixture
async def site_a(server: NatsServer) -> AsyncIterator[tuple[NatsRunner, Hooks]]:
    engine = Hooks(interval=1.0)
    runner = NatsRunner(
        NatsAccess(url(server, "site-alpha", "site-alpha-secret")),
        "alpha",
        engine,
        sweep_interval=0.1,
    )
    await runner.start()
    async with asyncio.timeout(10):
        await runner.wait_ready()
    try:
        yield runner, engine
    finally:
        await runner.aclose()


def job() -> CheckJob:
    return CheckJob("web1", "Port", TcpParams(port=1, timeout=1), "127.0.0.1", time.time())


async def test_a_worker_of_another_tenant_cannot_take_the_jobs(
    server: NatsServer, site_a: tuple[NatsRunner, Hooks]
) -> None:
    runner, _ = site_a
    intruder = Worker(
        NatsAccess(url(server, "worker-beta", "worker-beta-secret")),
        WorkerOptions(site="alpha", pool="default", heartbeat=0.2),
    )
    task = asyncio.create_task(intruder.run())
    try:
        result = await runner.run(job())
    finally:
        intruder.stop()
        await task

    assert (result.state, result.summary) == (3, "no worker for pool default")
    assert intruder.done == 0
    assert runner.workers("default") == []  # its heartbeats went to its own account


async def test_nor_see_them_nor_publish_results_into_the_site(
    server: NatsServer, site_a: tuple[NatsRunner, Hooks]
) -> None:
    runner, engine = site_a
    layout = Layout("alpha")
    nc = await nats.connect(url(server, "worker-beta", "worker-beta-secret"))
    try:
        js = nc.jetstream(timeout=1)  # refused: an error or no answer at all
        with pytest.raises((nats.js.errors.NotFoundError, nats.errors.TimeoutError)):
            await js.consumer_info(layout.jobs_stream, layout.pool_consumer("default"))
        seen: list[bytes] = []

        async def keep(msg: Msg) -> None:
            seen.append(msg.data)

        await nc.subscribe(layout.jobs_subject("*"), cb=keep)
        run = asyncio.create_task(runner.run(job()))
        forged = wire.Result(
            job="forged", issued_at=time.time(), worker="w", result=CheckResult("web1", "Port", 0)
        )
        with pytest.raises((nats.js.errors.NoStreamResponseError, nats.errors.TimeoutError)):
            await js.publish(layout.results_subject, wire.encode(forged))
        await run
    finally:
        await nc.close()
    assert seen == []
    assert [r.summary for r in engine.applied] == ["no worker for pool default"]


async def test_the_tenants_own_worker_needs_no_more_than_its_permissions(
    server: NatsServer, site_a: tuple[NatsRunner, Hooks]
) -> None:
    runner, engine = site_a
    worker = Worker(
        NatsAccess(url(server, "worker-alpha", "worker-alpha-secret")),
        WorkerOptions(site="alpha", pool="default", heartbeat=0.2),
    )
    task = asyncio.create_task(worker.run())
    try:
        result = await runner.run(job())
        nc = await nats.connect(url(server, "worker-alpha", "worker-alpha-secret"))
        try:  # it may not touch the streams themselves
            with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
                await nc.jetstream(timeout=1).delete_stream(Layout("alpha").jobs_stream)
        finally:
            await nc.close()
    finally:
        worker.stop()
        await task

    assert result.state == 2
    assert "Connection refused" in result.summary
    assert worker.done == 1
    assert engine.applied == [result]
