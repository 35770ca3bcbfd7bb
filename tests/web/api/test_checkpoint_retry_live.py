"""A checkpoint that fails does not stop the site (issue 19), over real HTTP on SQLite.

Another connection holds ``lookout.db``'s write lock past ``sqlite_busy_timeout``: the
checkpoint fails, ``/metrics`` says so, ``/readyz`` stays ready and results are still answered
(the journal has a file of its own). Once the lock is gone a later checkpoint writes it all;
after a SIGKILL the site has every answered result, and each event once."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from livesite import make_site

pytestmark = pytest.mark.integration

SERVICES = 20
ROUNDS = 6


def _round(n: int) -> dict[str, object]:
    return {
        "results": [
            {"host": "h", "service": f"s{k}", "state": n % 3, "summary": f"round {n}"}
            for k in range(SERVICES)
        ]
    }


def _metric(c: httpx.Client, name: str) -> float:
    for line in c.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def _until(c: httpx.Client, name: str, value: float, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while _metric(c, name) != value:
        assert time.monotonic() < end, f"{name} never became {value}"
        time.sleep(0.2)


def test_a_failed_checkpoint_is_written_later_and_nothing_is_lost(tmp_path: Path) -> None:
    site = make_site(
        tmp_path / "site",
        checkpoint_interval=1,
        sqlite_busy_timeout=0.2,
    )
    site.start()
    try:
        with site.client() as c:
            objects = {
                "hosts": [{"name": "h"}],
                "services": [
                    {"host": "h", "name": f"s{k}", "max_check_attempts": 1} for k in range(SERVICES)
                ],
            }
            assert c.post("/api/v1/objects", json=objects).status_code == 201
            assert c.post("/api/v1/results", json=_round(0)).status_code == 200
            locker = sqlite3.connect(tmp_path / "site" / "lookout.db", isolation_level=None)
            locker.execute("BEGIN IMMEDIATE")  # no checkpoint can write from now on
            for n in range(1, ROUNDS // 2):
                assert c.post("/api/v1/results", json=_round(n)).status_code == 200
            _until(c, "lookout_checkpoint_failing", 1)
            assert c.get("/readyz").status_code == 200
            for n in range(ROUNDS // 2, ROUNDS):  # still taken while it fails
                assert c.post("/api/v1/results", json=_round(n)).status_code == 200
            assert _metric(c, "lookout_checkpoint_failures_total") >= 1
            locker.execute("ROLLBACK")
            locker.close()
            _until(c, "lookout_checkpoint_failing", 0)
            events = c.get("/api/v1/events", params={"host": "h", "service": "s0"}).json()
        site.kill()  # SIGKILL: what was answered must be there, once
        site.start()
        with site.client() as c:
            after = c.get("/api/v1/events", params={"host": "h", "service": "s0"}).json()
            svc = c.get("/api/v1/hosts/h/services/s0").json()
        assert svc["summary"] == f"round {ROUNDS - 1}"
        assert [e["id"] for e in _items(after)] == [e["id"] for e in _items(events)]
        changes = [e for e in _items(after) if e["type"] == "state_change"]
        assert len(changes) == ROUNDS  # each round changes the state (round 0: from PENDING)
    finally:
        site.stop()


def _items(answer: object) -> list[dict[str, object]]:
    items = answer["items"] if isinstance(answer, dict) else answer
    assert isinstance(items, list)
    return items
