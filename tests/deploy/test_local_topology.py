"""The Kubernetes topology as local processes: a three-server NATS JetStream cluster, the site
and its standby on PostgreSQL with checks on worker pools, and two pools (``default`` and
``web``) of ``lookout worker``. Checks flow; the active site is SIGKILLed; the standby takes
over and the checks keep flowing through the same workers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from livepools import WorkerProcess, nats_site, wait_for
from livesite import LiveSite, wait_ready
from natsserver import NatsServer, cluster, require_binary, urls

pytestmark = pytest.mark.integration

HOST = "app1"
POOLS = {"default": "fine", "web": "fine_web"}
"""Pool → the Nagios command its services run (``[nats] pools`` sends fine_web to web)."""
SERVICES = [(pool, f"{pool}{i}") for pool in POOLS for i in range(4)]


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[list[NatsServer]]:
    require_binary()
    servers = cluster(tmp_path / "nats")
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()


def _define(c: httpx.Client) -> None:
    for command in POOLS.values():
        line = f"/bin/sh -c 'echo \"OK - {command}\"'"
        body = {"name": command, "command_line": line}
        c.post("/api/v1/commands", json=body).raise_for_status()
    c.post("/api/v1/hosts", json={"name": HOST}).raise_for_status()
    for pool, name in SERVICES:
        body = {
            "name": name,
            "check": {"type": "nagios", "command": POOLS[pool]},
            "check_interval": 3,
            "retry_interval": 3,
            "max_check_attempts": 1,
        }
        c.post(f"/api/v1/hosts/{HOST}/services", json=body).raise_for_status()


def _services(c: httpx.Client) -> dict[str, dict[str, Any]]:
    answer = c.get(f"/api/v1/hosts/{HOST}/services").json()
    return {s["name"]: s for s in answer["items"]}


def _pools_with_workers(c: httpx.Client) -> set[str]:
    pools = c.get("/api/v1/pools").json()["pools"]
    return {p["pool"] for p in pools if p["workers"]}


def _all_checked_since(c: httpx.Client, since: float) -> bool:
    try:
        found = _services(c)
    except (httpx.TransportError, KeyError, ValueError):
        return False
    return len(found) == len(SERVICES) and all(
        (s["last_check"] or 0) > since and s["state"] == 0 for s in found.values()
    )


def test_site_standby_nats_cluster_and_two_pools(
    tmp_path: Path, pg_url: str, nats_cluster: list[NatsServer]
) -> None:
    url = urls(nats_cluster)
    nats = {"replicas": 3, "pools": ["fine_web=web"]}
    active = nats_site(tmp_path / "site", url, database_url=pg_url, nats=nats)
    standby = active.second()
    workers: list[WorkerProcess] = []
    sites: list[LiveSite] = [active, standby]
    try:
        active.start()
        standby.start(probe="/healthz")
        for pool in POOLS:
            workers.append(WorkerProcess.start(url, tmp_path / f"worker-{pool}.log", pool))
        with active.client() as c:
            assert wait_for(lambda: _pools_with_workers(c) >= set(POOLS), within=30), (
                "the workers did not report",
                c.get("/api/v1/pools").json(),
            )
            _define(c)
            began = time.time()
            assert wait_for(lambda: _all_checked_since(c, began), within=30, every=0.3), _services(
                c
            )

        active.kill()
        killed_at = time.monotonic()
        killed_wall = time.time()
        assert standby.proc is not None
        assert standby.log is not None
        assert wait_ready(standby.proc, f"{standby.url}/readyz", standby.log, "standby", 10, 0.05)
        took = time.monotonic() - killed_at
        print(f"takeover with NATS pools: {took:.2f} s")
        after = time.time()
        with standby.client() as c:
            assert c.get("/api/v1/site").json()["role"] == "active"
            assert wait_for(lambda: _all_checked_since(c, after), within=30, every=0.3), _services(
                c
            )
            events = c.get(
                "/api/v1/events", params={"host": HOST, "type": "state_change", "limit": 10_000}
            ).json()["items"]
        problems = [
            (e["service"], e["state"], e["summary"], "after" if e["at"] > killed_wall else "before")
            for e in events
            if e.get("service") and e.get("state") != 0
        ]
        assert problems == []  # no UNKNOWN "no worker for pool", before or after the takeover
    except BaseException:
        for log in sorted(tmp_path.glob("site/serve*.log")) + sorted(tmp_path.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text()[-3000:]}")
        raise
    finally:
        for worker in workers:
            worker.stop()
        for site in sites:
            site.stop()
