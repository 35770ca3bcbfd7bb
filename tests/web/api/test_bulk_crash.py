"""``POST /api/v1/objects`` is durable when it answers: after a SIGKILL the site starts with
every object it created, and they take results (issue 19)."""

from __future__ import annotations

from pathlib import Path

import pytest

from livesite import make_site

pytestmark = pytest.mark.integration

HOSTS, PER_HOST = 200, 10


def test_created_objects_survive_a_kill(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", checkpoint_interval=3600)
    body = {
        "hosts": [{"name": f"h{i}"} for i in range(HOSTS)],
        "services": [
            {"host": f"h{i}", "name": f"s{j}"} for i in range(HOSTS) for j in range(PER_HOST)
        ],
    }
    site.start()
    try:
        with site.client() as c:
            r = c.post("/api/v1/objects", json=body)
            assert r.status_code == 201, r.text
            assert r.json()["created"] == {"hosts": HOSTS, "services": HOSTS * PER_HOST}
        site.kill()  # no checkpoint, no clean stop
        site.start()
        with site.client() as c:
            ready = c.get("/readyz").json()
            assert (ready["hosts"], ready["services"]) == (HOSTS, HOSTS * PER_HOST)
            last = {"host": f"h{HOSTS - 1}", "service": f"s{PER_HOST - 1}", "state": 2}
            assert c.post("/api/v1/results", json={"results": [last]}).status_code == 200
            svc = c.get(f"/api/v1/hosts/h{HOSTS - 1}/services/s{PER_HOST - 1}").json()
            assert svc["state"] == 2
    finally:
        site.stop()
