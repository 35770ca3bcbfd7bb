"""Two-factor log-in in a real headless Chromium: a user sets TOTP up from the profile page
(the QR code is an image, the page runs under the UI's strict CSP), keeps the recovery codes,
logs out and logs in again with a code. Saves a screenshot of the enrolment page (to
``LOOKOUT_SCREENSHOTS`` when set)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from livesite import LiveSite, make_site
from web.ui.test_browser import ARGS, CHROMIUM, PASSWORD

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def chromium_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, LiveSite]]:
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} missing (scripts/test-deps.d/ui.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    site = make_site(tmp_path_factory.mktemp("totp-browser") / "site")
    site.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                yield browser, site
            finally:
                browser.close()
    finally:
        site.stop()


def _log_in(page: Any, user: str) -> None:
    page.goto("/login")
    page.fill("input[name=user]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_a_user_sets_up_totp_and_logs_in_with_a_code(
    chromium_site: tuple[Any, LiveSite], tmp_path: Path
) -> None:
    chromium, site = chromium_site
    with site.client() as c:
        r = c.post("/api/v1/users", json={"name": "tess", "role": "operator", "password": PASSWORD})
        assert r.status_code == 201, r.text
    ctx = chromium.new_context(base_url=site.url, viewport={"width": 1100, "height": 900})
    page = ctx.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    _log_in(page, "tess")
    page.wait_for_url(re.compile(r"/$"))
    page.goto("/profile")
    page.click("text=Set up two-factor log-in")
    page.wait_for_url(re.compile(r"/profile/totp$"))
    qr = page.locator("img.qr")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 100")  # drawn, not blocked
    shots = Path(os.environ.get("LOOKOUT_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "totp-enrol-light.png"), full_page=True)
    secret = page.inner_text("#totp-secret").strip()
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.click("text=Turn on")
    page.wait_for_url(re.compile(r"/profile/totp/codes$"))
    assert len(page.locator("#recovery-codes li").all()) == 10
    page.click("text=I have kept them")
    assert "10 recovery codes left" in page.inner_text("#two-factor")
    page.click("text=Log out")
    page.wait_for_url(re.compile(r"/login"))

    _log_in(page, "tess")
    page.wait_for_url(re.compile(r"/login/totp$"))
    page.fill("input[name=code]", pyotp.TOTP(secret).at(time.time() + 30))
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    assert "tess" in page.inner_text("header .user")
    assert blocked == []
    ctx.close()
