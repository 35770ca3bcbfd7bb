"""A browser through the front door (headless Debian Chromium driven by Playwright): log in to
/alpha/, click through pages and a host, search as you type, log out — every request stays
under /alpha/ and the page loads its styles; the browser's session of alpha does not open
/beta/."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from frontdoor import door_root, sites, supervised
from sitehttp import api

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} missing (scripts/test-deps.d/ui.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def test_log_in_and_click_through_behind_the_front_door(chromium: Any, tmp_path: Path) -> None:
    root = door_root(tmp_path / "root")
    with supervised(root):
        a = sites(root, "create", "alpha")
        b = sites(root, "create", "beta")
        with api(a["url"], a["token"]) as c:
            c.post("/api/v1/hosts", json={"name": "web01"}).raise_for_status()
            c.post("/api/v1/hosts/web01/services", json={"name": "disk"}).raise_for_status()
        door = root.settings.door.url
        ctx = chromium.new_context(base_url=door)
        page = ctx.new_page()
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url))
        page.goto("/alpha/")  # not logged in: off to /alpha/login and back
        page.wait_for_url(re.compile(r"/alpha/login\?next="))
        page.fill("input[name=user]", "admin")
        page.fill("input[name=password]", a["password"])
        page.click("button[type=submit]")
        page.wait_for_url(f"{door}/alpha/")
        assert page.eval_on_selector("header.top", "e => getComputedStyle(e).display") != "inline"
        page.click("nav >> text=Hosts")
        page.wait_for_url(f"{door}/alpha/hosts")
        page.click("a:text-is('web01')")
        page.wait_for_url(re.compile(r"/alpha/host\?name=web01$"))
        page.fill("#search", "disk")  # search as you type: its fetch and links carry the prefix
        page.wait_for_selector("#search-results a:has-text('web01 / disk')")
        page.click("#search-results a:has-text('web01 / disk')")
        page.wait_for_url(re.compile(r"/alpha/service\?host=web01&name=disk$"))
        outside = [u for u in asked if u.startswith(door) and not u.startswith(f"{door}/alpha/")]
        assert outside == []
        # the session of alpha does not open beta (own cookie name and path; refused anyway)
        page.goto("/beta/")
        page.wait_for_url(re.compile(r"/beta/login\?next="))
        page.goto("/alpha/")
        page.click("text=Log out")
        page.wait_for_url(re.compile(r"/alpha/login"))
        ctx.close()
        assert b["url"].endswith("/beta")
