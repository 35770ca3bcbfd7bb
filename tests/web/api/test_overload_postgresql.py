"""Overload is explicit (issue 19): while the site's database write is stuck (here: a
PostgreSQL lock held on the journal), new results are refused at once with 503 and
Retry-After instead of waiting; the request that was taken before is answered when the write
goes through, and a client that retries loses nothing."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from webapi import problem_of

from livesite import make_site

pytestmark = pytest.mark.integration


def result(summary: str, state: int = 0) -> dict[str, object]:
    return {"host": "pg1", "service": "queue", "state": state, "summary": summary}


def test_a_stuck_write_turns_new_input_away_with_retry_after(tmp_path: Path, pg_url: str) -> None:
    site = make_site(tmp_path / "site", pg_url, overload_after=0.3, checkpoint_interval=60)
    site.start()
    locker = sa.create_engine(pg_url)
    try:
        with site.client() as c:
            assert c.post("/api/v1/hosts", json={"name": "pg1"}).status_code == 201
            made = c.post("/api/v1/hosts/pg1/services", json={"name": "queue"})
            assert made.status_code == 201
            assert c.post("/api/v1/results", json=result("before")).status_code == 200

            taken: dict[str, httpx.Response] = {}
            with locker.connect() as lock:
                lock.exec_driver_sql("LOCK TABLE journal IN ACCESS EXCLUSIVE MODE")

                def first() -> None:
                    with site.client() as c1:
                        taken["first"] = c1.post("/api/v1/results", json=result("first"))

                waiting = threading.Thread(target=first)
                waiting.start()
                time.sleep(0.8)  # its commit is stuck behind the lock
                began = time.monotonic()
                refused = c.post("/api/v1/results", json=result("second", 1))
                assert time.monotonic() - began < 0.5
                problem = problem_of(refused, 503)
                assert "nothing was taken" in problem["detail"]
                assert float(refused.headers["Retry-After"]) >= 1
                bulk = c.post("/api/v1/objects", json={"hosts": [{"name": "pg2"}]})
                assert bulk.status_code == 503
                assert "first" not in taken  # still waiting for its write
                lock.rollback()  # the lock goes: the stuck write goes through
            waiting.join(10)
            assert taken["first"].status_code == 200
            assert c.post("/api/v1/results", json=result("second", 1)).status_code == 200
        site.kill()  # nothing answered is lost
        site.start()
        with site.client() as c:
            svc = c.get("/api/v1/hosts/pg1/services/queue").json()
            assert (svc["summary"], svc["state"]) == ("second", 1)
            assert c.get("/api/v1/hosts/pg2").status_code == 404  # the refused bulk made nothing
    finally:
        locker.dispose()
        site.stop()
