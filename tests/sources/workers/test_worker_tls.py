"""TLS to NATS: the site and its workers verify the servers' certificate with [nats] tls_ca
(``lookout worker --tls-ca``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from livepools import Hooks
from lookout.checks.active.tcp import TcpParams
from lookout.sources.active.runner import CheckJob
from lookout.sources.agent_receiver.ca import SiteCA
from lookout.sources.workers.connection import NatsAccess
from lookout.sources.workers.runner import NatsRunner
from lookout.sources.workers.worker import Worker, WorkerOptions
from natsserver import NatsServer, require_binary, single

pytestmark = pytest.mark.integration


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[NatsServer, Path]]:
    """nats-server that speaks only TLS, with a certificate for 127.0.0.1 from a test CA."""
    require_binary()
    ca = SiteCA.ensure(tmp_path / "pki", "nats-test")
    cert, key = ca.server_cert(["127.0.0.1"])
    server = single(
        tmp_path / "nats", extra=("--tls", "--tlscert", str(cert), "--tlskey", str(key))
    )
    try:
        yield server, ca.dir / "ca.pem"
    finally:
        server.stop()


async def test_site_and_worker_talk_to_nats_over_tls(tls_server: tuple[NatsServer, Path]) -> None:
    server, ca = tls_server
    access = NatsAccess(server.url, tls_ca=str(ca))
    engine = Hooks(interval=10.0)
    runner = NatsRunner(access, "lookout", engine)
    worker = Worker(access, WorkerOptions(site="lookout", pool="default", heartbeat=0.2))
    await runner.start()
    task = asyncio.create_task(worker.run())
    try:
        job = CheckJob("web1", "Port", TcpParams(port=1, timeout=1), "127.0.0.1", time.time())
        async with asyncio.timeout(20):
            result = await runner.run(job)
    finally:
        worker.stop()
        await task
        await runner.aclose()
    assert result.state == 2
    assert engine.applied == [result]


async def test_a_server_the_ca_does_not_vouch_for_is_refused(
    tls_server: tuple[NatsServer, Path], tmp_path: Path
) -> None:
    server, _ = tls_server
    other = SiteCA.ensure(tmp_path / "other", "other").dir / "ca.pem"
    runner = NatsRunner(NatsAccess(server.url, tls_ca=str(other)), "lookout", Hooks(interval=10.0))
    await runner.start()
    try:
        for _ in range(200):
            if "certificate verify failed" in runner.error:
                break
            await asyncio.sleep(0.05)
    finally:
        await runner.aclose()
    assert "certificate verify failed" in runner.error
