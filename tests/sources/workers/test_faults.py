"""Faults with nothing lost and nothing doubled, against real processes: ``lookout serve`` on
worker pools, ``lookout worker`` processes and nats-server with JetStream (one server, or a
cluster of three)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from livepools import WorkerProcess, nats_site, wait_for
from livesite import LiveSite
from lookout.engine.scheduler import spread_offset
from natsserver import NatsServer, cluster, require_binary, urls

pytestmark = pytest.mark.integration
HOST, SERVICE = "web1", "slow"
LOADED = 60.0
"""Seconds to wait for what takes a second on an idle machine: a worker process's start, a
JetStream leader election; CI machines run many tests at once (a load of 20-30 is usual)."""


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    """Worker processes a test starts; stopped at the end."""
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()


@pytest.fixture
def sites() -> Iterator[list[LiveSite]]:
    started: list[LiveSite] = []
    yield started
    for site in started:
        site.stop()


def slow_service(c: httpx.Client, marker: Path, interval: float = 60) -> None:
    """web1/slow: a plugin that notes each start in ``marker``, sleeps, then says CRITICAL;
    three attempts before the state is hard (a doubled result would show as attempt 2)."""
    line = f"/bin/sh -c 'echo run >> {marker}; sleep 2; echo \"CRITICAL - slow\"; exit 2'"
    c.post("/api/v1/commands", json={"name": "slow", "command_line": line}).raise_for_status()
    # no address: a host with one gets the default host check (alive), whose results through
    # the pool would count with the service's
    c.post("/api/v1/hosts", json={"name": HOST}).raise_for_status()
    c.post(
        f"/api/v1/hosts/{HOST}/services",
        json={
            "name": SERVICE,
            "check": {"type": "nagios", "command": "slow", "timeout": 20},
            "check_interval": interval,
            "retry_interval": interval,
            "max_check_attempts": 3,
        },
    ).raise_for_status()
    recheck(c, HOST, SERVICE)


def recheck(c: httpx.Client, host: str, service: str) -> None:
    body = {"host": host, "service": service}
    c.post("/api/v1/actions/recheck", json=body).raise_for_status()


def service(c: httpx.Client, host: str = HOST, name: str = SERVICE) -> dict[str, Any]:
    answer: dict[str, Any] = c.get(f"/api/v1/hosts/{host}/services/{name}").json()
    return answer


def metric(c: httpx.Client, name: str) -> float:
    for row in c.get("/metrics").text.splitlines():
        if row.startswith(name + " "):
            return float(row.split()[1])
    raise KeyError(name)


def pool_workers(c: httpx.Client, pool: str = "default") -> int:
    pools = {p["pool"]: p for p in c.get("/api/v1/pools").json()["pools"]}
    return len(pools[pool]["workers"]) if pool in pools else 0


def runs(marker: Path) -> int:
    return len(marker.read_text().splitlines()) if marker.exists() else 0


def results_waiting(url: str, site: str = "lookout") -> int:
    async def probe() -> int:
        nc = await nats.connect(url)
        try:
            info = await nc.jetstream().stream_info(f"lookout_{site}_results")
            return info.state.messages
        finally:
            await nc.close()

    return asyncio.run(probe())


def test_a_worker_killed_mid_check_has_its_job_run_again_and_the_state_changes_once(
    nats_server: NatsServer, tmp_path: Path, workers: list[WorkerProcess], sites: list[LiveSite]
) -> None:
    marker = tmp_path / "runs"
    site = nats_site(tmp_path / "site", nats_server.url)
    sites.append(site)
    site.start()
    workers.append(WorkerProcess.start(nats_server.url, tmp_path / "a.log"))
    with site.client() as c:
        slow_service(c, marker)
        assert wait_for(lambda: runs(marker) == 1, within=LOADED)  # worker a runs the plugin
        workers[0].kill()
        workers.append(WorkerProcess.start(nats_server.url, tmp_path / "b.log"))

        assert wait_for(lambda: service(c)["checked"], within=LOADED)
        assert runs(marker) == 2  # the job came again after the ack wait
        status = service(c)
        assert (status["state"], status["summary"]) == (2, "CRITICAL - slow")
        assert (status["state_type"], status["attempt"]) == ("soft", 1)
        time.sleep(2.5)  # anything that would come twice has come by now (ack wait: 2 s)
        assert service(c)["attempt"] == 1
        assert metric(c, "lookout_pool_results_total") == 1
        assert metric(c, "lookout_pool_no_worker_total") == 0
        assert metric(c, 'lookout_pool_latency_seconds_count{pool="default"}') == 1
        assert metric(c, 'lookout_pool_latency_seconds_bucket{le="+Inf",pool="default"}') == 1
        pools = {p["pool"]: p for p in c.get("/api/v1/pools").json()["pools"]}
        assert [w["pid"] for w in pools["default"]["workers"]] == [workers[1].pid]


def test_a_killed_site_takes_the_results_that_waited_in_the_stream(
    nats_server: NatsServer, tmp_path: Path, workers: list[WorkerProcess], sites: list[LiveSite]
) -> None:
    # after the restart the scheduler's own first run of web1/slow is far off: only the
    # result that waited can change the service in this test
    assert spread_offset(HOST, SERVICE, 300) > 20
    marker = tmp_path / "runs"
    site = nats_site(tmp_path / "site", nats_server.url)
    sites.append(site)
    site.start()
    workers.append(WorkerProcess.start(nats_server.url, tmp_path / "w.log"))
    with site.client() as c:
        slow_service(c, marker, interval=300)
        assert wait_for(lambda: runs(marker) == 1, within=LOADED)
    site.kill()  # the worker goes on; its result waits in the stream
    assert wait_for(lambda: results_waiting(nats_server.url) == 1, within=LOADED)

    site.start()
    with site.client() as c:
        assert wait_for(lambda: service(c)["checked"], within=LOADED)
        status = service(c)
        assert (status["state"], status["summary"], status["attempt"]) == (2, "CRITICAL - slow", 1)
        assert metric(c, "lookout_pool_results_total") == 1
    # acknowledged once journaled
    assert wait_for(lambda: results_waiting(nats_server.url) == 0, within=LOADED)
    assert runs(marker) == 1


def test_one_server_of_a_three_node_cluster_killed_loses_no_job_and_no_result(
    tmp_path: Path, workers: list[WorkerProcess], sites: list[LiveSite]
) -> None:
    require_binary()
    servers = cluster(tmp_path / "nats")
    try:
        _cluster_failover(tmp_path, servers, workers, sites)
    finally:
        for server in servers:
            server.stop()


def _cluster_failover(
    tmp_path: Path, servers: list[NatsServer], workers: list[WorkerProcess], sites: list[LiveSite]
) -> None:
    url = urls(servers)
    site = nats_site(tmp_path / "site", url, nats={"replicas": 3})
    sites.append(site)
    site.start()
    for name in ("a", "b"):
        workers.append(WorkerProcess.start(url, tmp_path / f"{name}.log"))
    services = [f"svc{i:02d}" for i in range(20)]
    with site.client() as c:
        # a worker process takes seconds to start on a loaded machine: checks due before
        # then are rightly "no worker for pool default", which is not the fault tested here
        assert wait_for(lambda: pool_workers(c) == 2, within=LOADED)
        line = "/bin/sh -c 'echo \"OK - fine\"'"
        c.post("/api/v1/commands", json={"name": "fine", "command_line": line}).raise_for_status()
        c.post("/api/v1/hosts", json={"name": HOST}).raise_for_status()
        for name in services:
            body = {
                "name": name,
                "check": {"type": "nagios", "command": "fine"},
                "check_interval": 10,
                "retry_interval": 10,
                "max_check_attempts": 1,
            }
            c.post(f"/api/v1/hosts/{HOST}/services", json=body).raise_for_status()

        def all_checked() -> bool:
            return all(service(c, HOST, n)["checked"] for n in services)

        for name in services:
            recheck(c, HOST, name)
        assert wait_for(all_checked, within=LOADED)
        leader = asyncio.run(_jobs_leader(url))
        victim = next(s for s in servers if s.name == leader)
        killed_at = time.time()
        victim.kill()

        def checked_since() -> bool:
            return all(service(c, HOST, n)["last_check"] > killed_at + 5 for n in services)

        assert wait_for(checked_since, within=LOADED, every=0.5)
        for name in services:
            status = service(c, HOST, name)
            assert status["state"] == 0, (name, status["summary"])
        events = c.get(
            "/api/v1/events", params={"host": HOST, "type": "state_change", "limit": 10_000}
        ).json()
        assert [
            (e["service"], e["state"], e["summary"]) for e in events["items"] if e.get("state") != 0
        ] == []
        assert metric(c, "lookout_pool_no_worker_total") == 0


async def _jobs_leader(url: str) -> str:
    nc = await nats.connect(url.split(","))
    try:
        info = await nc.jetstream().stream_info("lookout_lookout_jobs")
        assert info.cluster is not None
        return str(info.cluster.leader)
    finally:
        await nc.close()
