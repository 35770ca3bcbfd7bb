"""The "All sites" page of a central site in headless Chromium (issue 12): a real remote site
over http (allowed), one that does not answer; problems of both sites with a site column and
filter; an acknowledgement of a remote problem carried out by the remote; a refusal shown."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webapi import wait_for

from centralnet import start_all
from livesite import LiveSite, free_port, make_site

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveSite, LiveSite]]:
    tmp = tmp_path_factory.mktemp("ui-central")
    hq = make_site(
        tmp / "hq",
        site_name="hq",
        ui={"refresh_seconds": 1},
        central={"refresh_interval": 0.2, "timeout": 2.0},
    )
    dc2 = make_site(tmp / "dc2", site_name="dc2")
    start_all([hq, dc2])
    try:
        with hq.client() as c, dc2.client() as d:
            _seed(c, "hq-mail", {"queue": 1})
            _seed(d, "dc2-db", {"disk": 2, "replication": 3, "ssh": 0})
            assert d.post("/api/v1/users", json={"name": "central-hq", "role": "operator"})
            token = d.post(
                "/api/v1/tokens", json={"name": "hq", "user": "central-hq", "role": "operator"}
            ).json()["token"]
            r = c.post(
                "/api/v1/remotes",
                json={"name": "dc2", "url": dc2.url, "token": token, "allow_http": True},
            )
            assert r.status_code == 201, r.text
            r = c.post(
                "/api/v1/remotes",
                json={
                    "name": "dc9",
                    "url": f"http://127.0.0.1:{free_port()}",
                    "token": "t",
                    "allow_http": True,
                },
            )
            assert r.status_code == 201, r.text
            r = c.post(
                "/api/v1/users", json={"name": "olga", "role": "operator", "password": PASSWORD}
            )
            assert r.status_code == 201, r.text
            wait_for(lambda: c.get("/api/v1/central/problems").json()["total"] == 3)
        yield hq, dc2
    finally:
        hq.stop()
        dc2.stop()


def _seed(api: Any, host: str, services: dict[str, int]) -> None:
    body = {"hosts": [{"name": host}], "services": [{"host": host, "name": s} for s in services]}
    assert api.post("/api/v1/objects", json=body).status_code == 201
    results = [
        {"host": host, "service": s, "state": v, "summary": f"{s}: {v}"}
        for s, v in services.items()
    ]
    assert api.post("/api/v1/results", json={"results": results}).status_code == 200


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing")
        pytest.skip(f"{CHROMIUM} missing (scripts/test-deps.d/ui.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _page(chromium: Any, site: LiveSite, scheme: str = "light") -> Any:
    ctx = chromium.new_context(
        base_url=site.url, viewport={"width": 1280, "height": 900}, color_scheme=scheme
    )
    page = ctx.new_page()
    page.goto("/login")
    page.fill("input[name=user]", "olga")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    return page


def test_all_sites_page_lists_filters_and_acts_through_the_owner(
    chromium: Any, sites: tuple[LiveSite, LiveSite]
) -> None:
    hq, dc2 = sites
    page = _page(chromium, hq)
    overview = page.inner_text("main")
    assert "dc2" in overview
    assert "UNREACHABLE" in overview  # dc9 does not answer
    page.click("nav >> text=All sites")
    page.wait_for_url(re.compile(r"/central$"))
    sites_table = page.locator("table.sites").inner_text()
    assert "answering" in sites_table
    assert "unreachable" in sites_table
    assert "Connection refused" in sites_table or "refused" in sites_table.lower()
    rows = page.locator("tr.unhandled", has_text="dc2-db")
    assert rows.count() == 2
    assert page.locator("tr.unhandled", has_text="hq-mail").count() == 1
    shots = os.environ.get("LOOKOUT_SCREENSHOTS")
    if shots:
        page.screenshot(path=f"{shots}/central-light.png", full_page=True)
    page.select_option("select[name=site]", "dc2")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"site=dc2"))
    assert page.locator("tr.unhandled", has_text="hq-mail").count() == 0
    row = page.locator("tr.unhandled", has_text="disk")
    row.locator("input[name=target]").check()
    page.fill("#bulk input[name=comment]", "replacing the disk")
    page.click("#bulk button[value=ack]")
    page.wait_for_url(re.compile(r"/central\?site=dc2"))
    assert "ack: 1 object" in page.inner_text("main")
    with dc2.client() as d:
        acks = d.get("/api/v1/acknowledgements").json()["items"]
    assert [a["author"] for a in acks if a["service"] == "disk"] == ["olga via central-hq"]
    page.wait_for_selector("tr.handled:has-text('disk')", timeout=10_000)
    # a refusal of the remote comes back as it said it: the service went meanwhile
    page.locator("tr.unhandled", has_text="replication").locator("input[name=target]").check()
    with dc2.client() as d:
        assert d.delete("/api/v1/hosts/dc2-db/services/replication").status_code == 204
    page.click("#bulk button[value=recheck]")
    page.wait_for_url(re.compile(r"/central"))
    text = page.inner_text("main")
    assert "dc2: dc2-db/replication: refused by dc2: 404" in text, text
    page.context.close()
