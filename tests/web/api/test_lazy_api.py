"""The REST API's FastAPI app is built once the site runs (``web/api/app.py``: ``LazyApi``),
so ``/readyz`` may say ready before it exists: the requests sent right at the first 200 —
the API, its OpenAPI document, a UI page, results — must all be answered as usual."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from livesite import make_site

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("fronts", [0, 1])
def test_every_door_works_at_the_first_ready(tmp_path: Path, fronts: int) -> None:
    site = make_site(tmp_path / "site", ingest_fronts=fronts)
    with site.client() as c:
        site.start(probe="/healthz")  # answered from the start, ready or not
        deadline = time.monotonic() + 60
        while c.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.002)
        try:
            hosts = c.post("/api/v1/hosts", json={"name": "web01"})
            assert hosts.status_code == 201, hosts.text
            assert c.get("/api/v1/hosts").json()["items"][0]["name"] == "web01"
            assert c.get("/api/v1/openapi.json").json()["info"]["title"] == "Lookout"
            assert c.get("/login").status_code == 200
            assert c.head("/readyz").status_code == 405  # GET only, as FastAPI answered
            results = {"results": [{"host": "web01", "service": "", "state": 0, "summary": "up"}]}
            r = c.post("/api/v1/results", json=results)
            assert (r.status_code, r.json()["accepted"]) == (200, 1), r.text
        finally:
            site.stop()


async def test_the_api_is_built_by_a_request_when_no_lifespan_ran(tmp_path: Path) -> None:
    from lookout.sites.site import Site
    from lookout.web.api.app import create_app

    made = make_site(tmp_path / "site")
    site = Site(made.dir)
    site.reload_tokens()
    transport = httpx.ASGITransport(app=create_app(site))
    headers = {"Authorization": f"Bearer {made.token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        assert (await c.get("/readyz")).status_code == 503  # not started
        r = await c.get("/api/v1/site")
        assert (r.status_code, r.json()["role"]) == (200, "starting")
    site.db.dispose()
