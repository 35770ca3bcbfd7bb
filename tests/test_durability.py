"""SIGKILL during heavy ingestion loses nothing that was answered 2xx (SQLite and PostgreSQL).

Each writer owns a set of services and posts results to them in order; every result flips the
state (max_check_attempts 1), so each one is a hard state change with its own event. After the
kill and a restart, every service's state must be at least as new as its last acknowledged
result, and the event log must hold a state change for every acknowledged result.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest

from livesite import LiveSite, make_site

pytestmark = pytest.mark.integration

HOSTS = 8
SERVICES = 4
WRITERS = 8


async def _writer(
    client: httpx.AsyncClient,
    keys: list[tuple[str, str]],
    acked: dict[tuple[str, str], int],
    stop: asyncio.Event,
) -> None:
    seq = 0
    while not stop.is_set():
        seq += 1
        body = {
            "results": [
                {
                    "host": h,
                    "service": s,
                    "state": 2 if seq % 2 else 0,
                    "summary": f"seq={seq}",
                    "perfdata": f"seq={seq}",
                }
                for h, s in keys
            ]
        }
        try:
            resp = await client.post("/api/v1/results", content=json.dumps(body))
        except httpx.TransportError:
            return
        if resp.status_code != 200:
            return
        for key in keys:
            acked[key] = seq


async def _load(site: LiveSite, seconds: float) -> dict[tuple[str, str], int]:
    keys = [(f"h{h}", f"s{s}") for h in range(HOSTS) for s in range(SERVICES)]
    acked: dict[tuple[str, str], int] = {}
    stop = asyncio.Event()
    headers = {"Authorization": f"Bearer {site.token}"}
    async with httpx.AsyncClient(base_url=site.url, headers=headers, timeout=10) as client:
        tasks = [
            asyncio.create_task(_writer(client, keys[i::WRITERS], acked, stop))
            for i in range(WRITERS)
        ]
        await asyncio.sleep(seconds)
        site.kill()  # SIGKILL while requests are in flight
        stop.set()
        await asyncio.gather(*tasks)
    return acked


def _setup(site: LiveSite) -> None:
    with site.client() as c:
        for h in range(HOSTS):
            assert c.post("/api/v1/hosts", json={"name": f"h{h}"}).status_code == 201
            for s in range(SERVICES):
                r = c.post(
                    f"/api/v1/hosts/h{h}/services", json={"name": f"s{s}", "max_check_attempts": 1}
                )
                assert r.status_code == 201


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_during_ingestion_keeps_every_acknowledged_result(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db_url = "" if backend == "sqlite" else request.getfixturevalue("pg_url")
    # A long checkpoint interval so that most acknowledged results live only in the journal.
    site = make_site(tmp_path / "site", db_url, checkpoint_interval=0.7)
    site.start()
    try:
        _setup(site)
        acked = asyncio.run(_load(site, seconds=2.0))
        assert site.proc is not None
        assert site.proc.returncode == -9
        assert sum(acked.values()) > 100, "the load generator got too few answers to mean much"
        site.start()
        with site.client() as c:
            for (host, service), seq in acked.items():
                svc = c.get(f"/api/v1/hosts/{host}/services/{service}").json()
                got = int(svc["summary"].removeprefix("seq="))
                assert got >= seq, f"{host}/{service}: acknowledged seq={seq}, state has {got}"
                events = c.get(
                    "/api/v1/events",
                    params={
                        "host": host,
                        "service": service,
                        "type": "state_change",
                        "limit": 10000,
                    },
                ).json()["items"]
                seen = {e["summary"] for e in events}
                missing = [n for n in range(1, seq + 1) if f"seq={n}" not in seen]
                assert not missing, f"{host}/{service}: no history for acknowledged {missing[:5]}"
    finally:
        site.stop()


def test_restart_without_kill_keeps_state(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    site.start()
    try:
        _setup(site)
        with site.client() as c:
            c.post(
                "/api/v1/results",
                json={"host": "h0", "service": "s0", "state": 2, "summary": "broken"},
            )
            c.post(
                "/api/v1/actions/acknowledge",
                json={"host": "h0", "service": "s0", "comment": "mine"},
            )
        site.stop()
        time.sleep(0.1)
        site.start()
        with site.client() as c:
            svc = c.get("/api/v1/hosts/h0/services/s0").json()
        assert svc["state"] == 2
        assert svc["acknowledged"]
        assert svc["summary"] == "broken"
    finally:
        site.stop()
