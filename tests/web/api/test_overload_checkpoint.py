"""No answer waits on a checkpoint, and overload is explicit (issue 19), on SQLite.

A second connection holds the write lock of ``lookout.db``, so the site's checkpoint is stuck.
Results are still answered at once (the journal has a file of its own); once more results wait
for a checkpoint than ``max_unsaved_results``, the door answers 503 with Retry-After at once,
taking nothing. A client that honours it loses nothing, across a SIGKILL. Both with the site
serving results itself and through ingest fronts."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from webapi import problem_of

from livesite import make_site

pytestmark = pytest.mark.integration

SERVICES = 50
BATCHES = 10


def batch(n: int) -> dict[str, object]:
    return {
        "results": [
            {"host": "h", "service": f"s{k}", "state": n % 3, "summary": f"batch {n}"}
            for k in range(SERVICES)
        ]
    }


@pytest.mark.parametrize("fronts", [0, 2], ids=["in-process", "fronts"])
def test_a_stuck_checkpoint_delays_no_answer_and_a_client_that_retries_loses_nothing(
    tmp_path: Path, fronts: int
) -> None:
    site = make_site(
        tmp_path / "site",
        ingest_fronts=fronts,
        checkpoint_interval=3600,
        checkpoint_after_results=2 * SERVICES,
        max_unsaved_results=6 * SERVICES,
    )
    site.start()
    try:
        with site.client() as c:
            objects = {
                "hosts": [{"name": "h"}],
                "services": [{"host": "h", "name": f"s{k}"} for k in range(SERVICES)],
            }
            assert c.post("/api/v1/objects", json=objects).status_code == 201
            locker = sqlite3.connect(tmp_path / "site" / "lookout.db", isolation_level=None)
            locker.execute("BEGIN IMMEDIATE")  # the checkpoint cannot write from now on
            refusals = 0
            n = 0
            while n < BATCHES:
                began = time.monotonic()
                answer = c.post("/api/v1/results", json=batch(n))
                took = time.monotonic() - began
                assert took < 1.0, f"answer {n} waited {took:.2f} s"
                if answer.status_code == 503:
                    problem = problem_of(answer, 503)
                    assert "nothing was taken" in problem["detail"]
                    refusals += 1
                    if locker.in_transaction:
                        assert n >= 4  # the batches before were taken while it was stuck
                        locker.execute("ROLLBACK")  # the checkpoint goes through
                    time.sleep(float(answer.headers["Retry-After"]))
                    continue  # the same batch again
                assert answer.status_code == 200, answer.text
                assert answer.json()["accepted"] == SERVICES
                n += 1
            locker.close()
            assert refusals >= 1
        site.kill()  # SIGKILL: every answered batch must survive
        site.start()
        with site.client() as c:
            items = c.get("/api/v1/services", params={"host": "h", "limit": 1000}).json()["items"]
        assert len(items) == SERVICES
        assert {(s["summary"], s["state"]) for s in items} == {
            (f"batch {BATCHES - 1}", (BATCHES - 1) % 3)
        }
    finally:
        site.stop()
