"""SIGKILL during heavy ingestion loses nothing that was answered 2xx (SQLite and PostgreSQL).

Each writer owns a set of services and posts results to them in order; every result flips the
state (max_check_attempts 1), so each one is a hard state change with its own event. After the
kill and a restart, every service's state must be at least as new as its last acknowledged
result, and the event log must hold a state change for every acknowledged result. Both with
the site serving results itself and through ingest fronts.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from durableload import load, setup, verify
from livesite import make_site

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("fronts", [0, 2], ids=["in-process", "fronts"])
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_during_ingestion_keeps_every_acknowledged_result(
    backend: str, fronts: int, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db_url = "" if backend == "sqlite" else request.getfixturevalue("pg_url")
    # A long checkpoint interval so that most acknowledged results live only in the journal.
    site = make_site(tmp_path / "site", db_url, checkpoint_interval=0.7, ingest_fronts=fronts)
    site.start()
    try:
        setup(site)
        acked = asyncio.run(load(site, seconds=2.0))
        assert site.proc is not None
        assert site.proc.returncode == -9
        total = sum(acked.results.values())
        assert total > 100, "the load generator got too few answers to mean much"
        site.start()
        verify(site, acked)
    finally:
        site.stop()


def test_restart_without_kill_keeps_state(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    site.start()
    try:
        setup(site)
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
