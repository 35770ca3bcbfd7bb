"""The operator's path in a real headless Chromium (Debian ``chromium`` driven by Playwright):
log in, acknowledge, schedule a downtime, bulk-acknowledge; a viewer cannot act; CSRF-less
posts are refused. Also takes the README's screenshots (both themes) when
``LOOKOUT_SCREENSHOTS`` names a directory."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from showcase import seed

from livesite import LiveSite, make_site

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery"


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} missing (scripts/test-deps.d/ui.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    """A site of its own (live updates every second) with the showcase data."""
    s = make_site(
        tmp_path_factory.mktemp("ui-browser") / "site",
        ui={"refresh_seconds": 1},
        default_host_check="none",  # the showcase's addresses are placeholders: no alive checks
    )
    s.start()
    try:
        with s.client() as c:
            seed(c)
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def users(shop: LiveSite) -> dict[str, str]:
    names = {"admin": "ada", "operator": "olga", "viewer": "victor"}
    with shop.client() as c:
        for role, name in names.items():
            r = c.post("/api/v1/users", json={"name": name, "role": role, "password": PASSWORD})
            assert r.status_code == 201, r.text
    return names


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _page(
    chromium: Any, site: LiveSite, user: str, scheme: str = "light", width: int = 1280
) -> Any:
    ctx = chromium.new_context(
        base_url=site.url, viewport={"width": width, "height": 900}, color_scheme=scheme
    )
    page = ctx.new_page()
    page.goto("/login")
    page.fill("input[name=user]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    return page


def _events(site: LiveSite, **params: str) -> list[dict[str, Any]]:
    with site.client() as c:
        items: list[dict[str, Any]] = c.get("/api/v1/events", params=params).json()["items"]
        return items


def test_operator_acknowledges_a_crit_service_from_the_problems_page(
    chromium: Any, shop: LiveSite, users: dict[str, str]
) -> None:
    page = _page(chromium, shop, users["operator"])
    page.goto("/problems?host=db-01")
    row = page.locator("tr.unhandled", has_text="Backup age")
    assert "CRIT" in row.inner_text()
    row.locator("input[name=target]").check()
    page.fill("#bulk input[name=comment]", "quota raised, backup re-running")
    page.click("#bulk button[value=ack]")
    page.wait_for_url(re.compile(r"/problems\?host=db-01"))
    assert "Acknowledged: 1 object" in page.inner_text("main")
    handled = page.locator("tr.handled", has_text="Backup age")
    assert "ACK" in handled.inner_text()
    page.click("tr.handled >> text=Backup age")
    log = page.locator("table.events").inner_text()
    assert "ack set" in log
    assert users["operator"] in log
    assert _events(shop, host="db-01", type="ack_set")[0]["author"] == users["operator"]
    page.context.close()


def test_operator_schedules_an_8h_downtime_from_the_host_page(
    chromium: Any, shop: LiveSite, users: dict[str, str]
) -> None:
    page = _page(chromium, shop, users["operator"])
    page.goto("/host?name=web-03")
    form = page.locator("form.act", has_text="Schedule downtime")
    form.locator("input[name=comment]").fill("kernel update")
    form.locator("label.preset", has_text="8h").click()
    form.locator("button[value=downtime]").click()
    assert "Downtime scheduled: 1 object" in page.inner_text("main")
    assert "kernel update" in page.locator("section", has_text="Downtimes").first.inner_text()
    with shop.client() as c:
        (dt,) = c.get("/api/v1/downtimes", params={"host": "web-03"}).json()["items"]
    assert dt["end"] - dt["start"] == pytest.approx(8 * 3600)
    assert dt["author"] == users["operator"]
    page.context.close()


def test_operator_bulk_acknowledges_three_problems(
    chromium: Any, shop: LiveSite, users: dict[str, str]
) -> None:
    page = _page(chromium, shop, users["operator"])
    page.goto("/problems?host=web-01&handled=no")
    assert page.locator("tr.unhandled").count() == 3
    page.check("#select-all")
    assert page.inner_text("#selected-count") == "3 selected"
    page.fill("#bulk input[name=comment]", "disk and load: ticket OPS-1234")
    page.click("#bulk button[value=ack]")
    assert "Acknowledged: 3 objects" in page.inner_text("main")
    assert page.locator("tr.unhandled").count() == 0
    page.goto("/problems?host=web-01")
    assert page.locator("tr.handled").count() == 3
    authors = {e["author"] for e in _events(shop, host="web-01", type="ack_set")}
    assert authors == {users["operator"]}
    page.context.close()


def test_a_viewer_sees_no_action_forms_and_forged_posts_are_refused(
    chromium: Any, shop: LiveSite, users: dict[str, str]
) -> None:
    page = _page(chromium, shop, users["viewer"])
    for path in ("/problems", "/host?name=web-02", "/service?host=web-02&name=CPU%20load"):
        page.goto(path)
        assert page.locator("form[action='/act']").count() == 0
        assert page.locator("button[value=ack]").count() == 0
    csrf = page.locator("input[name=csrf]").first.input_value()
    forged = page.request.post(
        "/act",
        form={
            "csrf": csrf,
            "action": "ack",
            "target": "web-02:Filesystem%20%2Fvar",
            "comment": "viewer",
        },
        max_redirects=0,
    )
    assert forged.status == 403
    page.context.close()


def test_a_post_without_csrf_token_is_refused(
    chromium: Any, shop: LiveSite, users: dict[str, str]
) -> None:
    page = _page(chromium, shop, users["operator"])
    r = page.request.post(
        "/act",
        form={"action": "ack", "target": "db-01:Backup%20age", "comment": "no token"},
        max_redirects=0,
    )
    assert r.status == 403
    page.context.close()


def test_the_title_counts_unhandled_problems_live(
    chromium: Any, shop: LiveSite, users: dict[str, str]
) -> None:
    page = _page(chromium, shop, users["viewer"])
    page.goto("/problems")
    before = int(page.inner_text("#unhandled-badge"))
    with shop.client() as c:
        r = c.post(
            "/api/v1/results",
            json={"host": "web-02", "service": "Memory", "state": 2, "summary": "live-OOM"},
        )
        assert r.status_code == 200
    wanted = f"({before + 1}) "
    for _ in range(100):  # no wait_for_function: the page's CSP forbids evaluating strings
        if page.title().startswith(wanted):
            break
        page.wait_for_timeout(100)
    assert page.title().startswith(wanted), page.title()
    page.wait_for_selector("text=live-OOM", timeout=10_000)  # the list refreshed itself
    page.context.close()


def test_search_as_you_type_and_keyboard(
    chromium: Any, shop: LiveSite, users: dict[str, str]
) -> None:
    page = _page(chromium, shop, users["viewer"])
    page.keyboard.press("/")
    page.keyboard.type("checkout")
    page.wait_for_selector("#search-results li a[href*='shop.checkout']")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/host\?name=shop.checkout"))
    assert "deployment" in page.inner_text("nav.crumbs")
    page.context.close()


def test_screenshots_in_both_themes(
    chromium: Any, shop: LiveSite, users: dict[str, str], tmp_path: Path
) -> None:
    wanted = os.environ.get("LOOKOUT_SCREENSHOTS")
    out = Path(wanted or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    pages = {
        "overview": "/",
        "problems": "/problems",
        "service": "/service?host=web-01&name=CPU%20load",
        "setup": "/setup",
        "host": "/host?name=shop.checkout-7d9f-x2b",
        "availability": "/reports/availability?since=10m&kind=all&sla=99.9",
    }
    if not wanted:  # a quick check of both themes; the full set for the README on request
        pages = {"service": pages["service"]}
    for scheme in ("light", "dark"):
        page = _page(chromium, shop, users["admin"], scheme)
        for name, path in pages.items():
            page.goto(path)
            page.screenshot(path=str(out / f"{name}-{scheme}.png"), full_page=True)
        page.context.close()
    if wanted:
        phone = _page(chromium, shop, users["admin"], "dark", width=390)
        phone.goto("/problems")
        phone.screenshot(path=str(out / "problems-phone-dark.png"), full_page=True)
        phone.context.close()
    shots = {s: (out / f"service-{s}.png").read_bytes() for s in ("light", "dark")}
    assert all(len(b) > 10_000 for b in shots.values())
    assert shots["light"] != shots["dark"]


def test_theme_toggle_sticks_across_pages(
    chromium: Any, shop: LiveSite, users: dict[str, str]
) -> None:
    page = _page(chromium, shop, users["viewer"], "light")
    assert page.get_attribute("html", "data-theme") == "auto"
    page.click("#theme-toggle")
    assert page.get_attribute("html", "data-theme") == "dark"
    page.goto("/problems")
    assert page.get_attribute("html", "data-theme") == "dark"
    page.context.close()


def test_lists_work_from_the_keyboard(chromium: Any, shop: LiveSite, users: dict[str, str]) -> None:
    page = _page(chromium, shop, users["operator"])
    page.goto("/problems?host=shop.checkout-7d9f-x2b")
    page.keyboard.press("j")
    assert page.locator("tr.kb-focus").count() == 1
    page.keyboard.press("x")  # select it
    assert page.inner_text("#selected-count") == "1 selected"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/service\?host=shop.checkout-7d9f-x2b&name=Pod"))
    page.context.close()


def test_an_admin_sets_up_a_channel_and_a_rule_in_the_browser(
    chromium: Any, shop: LiveSite, users: dict[str, str], tmp_path: Path
) -> None:
    """Setup → notifications: a webhook channel and a rule through the forms; a mistake is
    shown next to its field with the rest of the form as typed."""
    wanted = os.environ.get("LOOKOUT_SCREENSHOTS")
    out = Path(wanted or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    page = _page(chromium, shop, users["admin"])
    page.goto("/setup")
    page.click("text=Edit rules and channels")
    page.click("a.button:has-text('Webhook')")
    page.fill("input[name=name]", "ops-hook")
    page.fill("input[name=url]", "ops.example.invalid/lookout")  # no scheme
    page.fill("input[name=secret]", "signing-key")
    page.click("button:has-text('Add channel')")
    url_field = page.locator(".field[data-field=url]")
    assert "String should match pattern" in url_field.locator(".field-error").inner_text()
    assert page.input_value("input[name=name]") == "ops-hook"
    assert page.input_value("input[name=secret]") == "", "a secret is not shown back"
    page.screenshot(path=str(out / "setup-channel-error-light.png"), full_page=True)
    page.fill("input[name=url]", "https://ops.example.invalid/lookout")
    page.fill("input[name=secret]", "signing-key")
    page.click("button:has-text('Add channel')")
    assert "channel ops-hook added" in page.inner_text("main")

    page.click("a.button:has-text('New rule')")
    page.fill("input[name=name]", "web-problems")
    page.fill("textarea[name=hosts]", "web-*")
    page.check("input[name=channels][value=ops-hook]")
    page.fill("input[name=repeat_every]", "60d")
    page.click("button:has-text('Add rule')")
    error = page.locator(".field[data-field=repeat_every] .field-error").inner_text()
    assert "at most 4w2d (30 days)" in error
    assert page.input_value("textarea[name=hosts]") == "web-*"
    page.fill("input[name=repeat_every]", "2h")
    page.click("button:has-text('Add rule')")
    assert "rule web-problems added" in page.inner_text("main")
    page.screenshot(path=str(out / "setup-notifications-light.png"), full_page=True)
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=str(out / "setup-notifications-dark.png"), full_page=True)
    page.emulate_media(color_scheme="light")
    with shop.client() as c:
        rules = c.get("/api/v1/notifications/rules").json()["items"]
    rule = next(r for r in rules if r["name"] == "web-problems")
    assert (rule["hosts"], rule["channels"]) == (["web-*"], ["ops-hook"])
    assert rule["repeat_every"] == 7200
    page.goto("/setup/rule?name=web-problems")
    page.screenshot(path=str(out / "setup-rule-light.png"), full_page=True)
    page.context.close()


def test_an_admin_reads_the_audit_log_and_filters_it(
    chromium: Any, shop: LiveSite, users: dict[str, str], tmp_path: Path
) -> None:
    page = _page(chromium, shop, users["operator"])
    page.goto("/host?name=web-03")
    form = page.locator("form.act", has_text="Comment or recheck")
    form.locator("input[name=comment]").fill("looked at the fans")
    form.locator("button[value=comment]").click()
    page.wait_for_load_state()
    assert page.goto("/audit").status == 403
    page.context.close()

    page = _page(chromium, shop, users["admin"])
    page.click("nav >> text=Audit")
    page.wait_for_url(re.compile(r"/audit$"))
    row = page.locator("table.audit tr", has_text="comment create").first
    assert users["operator"] in row.inner_text()
    assert "ui" in row.inner_text()
    page.select_option("select[name=channel]", "ui")
    page.fill("input[name=actor]", users["operator"])
    page.click("form.filters button")
    page.wait_for_url(re.compile(r"actor="))
    rows = page.locator("table.audit tbody tr")
    assert rows.count() >= 1
    assert all(users["operator"] in rows.nth(i).inner_text() for i in range(rows.count()))
    rows.first.locator("summary").click()
    assert "looked at the fans" in rows.first.inner_text()
    out = Path(os.environ.get("LOOKOUT_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / "audit-light.png"), full_page=True)
    page.context.close()
