"""The NUL reproductions of issue 16 on PostgreSQL, which cannot store NUL in text: each was
answered 200 (then the next checkpoint failed and the site refused every write) or 500. Now
each is a 422 naming the field, and the site stays ready after checkpoints."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from webapi import locs, problem_of

from livesite import make_site

pytestmark = pytest.mark.integration

NUL = "\u0000"
CASES: list[tuple[str, dict[str, Any], list[Any]]] = [
    (
        "/api/v1/results",
        {"host": "pg1", "service": "disk", "state": 2, "summary": f"a{NUL}"},
        ["summary"],
    ),
    ("/api/v1/actions/comment", {"host": "pg1", "comment": f"a{NUL}b"}, ["comment"]),
    (
        "/api/v1/actions/acknowledge",
        {"host": "pg1", "service": "disk", "comment": f"x{NUL}"},
        ["comment"],
    ),
    ("/api/v1/hosts", {"name": "pg2", "labels": {"env": f"p{NUL}"}}, ["labels", "env"]),
    ("/api/v1/hosts", {"name": "pg3", "address": f"10.0.0.1{NUL}"}, ["address"]),
    ("/api/v1/users", {"name": "pgu", "email": f"a{NUL}@b.c"}, ["email"]),
    ("/api/v1/tokens", {"name": f"ci{NUL}"}, ["name"]),
]


def test_nul_bytes_are_refused_and_the_site_stays_ready(tmp_path: Path, pg_url: str) -> None:
    site = make_site(tmp_path / "site", pg_url, tick_interval=0.2, checkpoint_interval=0.3)
    site.start()
    try:
        with site.client() as c:
            assert c.post("/api/v1/hosts", json={"name": "pg1"}).status_code == 201
            r = c.post("/api/v1/hosts/pg1/services", json={"name": "disk", "max_check_attempts": 1})
            assert r.status_code == 201
            ok = {"host": "pg1", "service": "disk", "state": 2, "summary": "full"}
            assert c.post("/api/v1/results", json=ok).status_code == 200
            for path, body, loc in CASES:
                assert loc in locs(problem_of(c.post(path, json=body), 422)), path
            time.sleep(0.8)  # checkpoints run
            assert c.get("/readyz").status_code == 200
            last = {**ok, "summary": "still taking input"}
            assert c.post("/api/v1/results", json=last).status_code == 200
        site.kill()
        site.start()
        with site.client() as c:
            svc = c.get("/api/v1/hosts/pg1/services/disk").json()
            assert svc["summary"] == "still taking input"
    finally:
        site.stop()
