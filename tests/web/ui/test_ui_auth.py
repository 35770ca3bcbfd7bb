"""Log-in, sessions, CSRF and roles of the web UI, over real HTTP against ``lookout serve``."""

from __future__ import annotations

import re

import httpx
import pytest
from uiweb import Browser, add_user, csrf_of
from webapi import Api

from livesite import LiveSite

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("path", ["/", "/problems", "/host?name=x", "/setup", "/ui/live.json"])
def test_pages_send_strangers_to_the_login_page(site: LiveSite, path: str) -> None:
    r = httpx.get(site.url + path)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")


def test_login_sets_a_safe_session_cookie_and_logout_ends_it(
    site: LiveSite, admin: httpx.Client
) -> None:
    user = add_user(admin, "viewer")
    with httpx.Client(base_url=site.url) as c:
        page = c.get("/login")
        r = c.post(
            "/login",
            data={"user": user, "password": "correct horse battery", "csrf": csrf_of(page.text)},
        )
        assert r.status_code == 303
        cookie = r.headers["set-cookie"].lower()
        assert re.search(r"lookout_session_[0-9a-f]{10}=", cookie)
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        assert "secure" not in cookie  # plain http on loopback
        home = c.get("/")
        assert home.status_code == 200
        assert user in home.text
        assert c.post("/logout", data={"csrf": csrf_of(home.text)}).status_code == 303
        assert c.get("/").status_code == 303


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    site: LiveSite, admin: httpx.Client
) -> None:
    user = add_user(admin, "viewer")
    with httpx.Client(base_url=site.url) as c:
        for name, password in ((user, "wrong password"), ("nobody-at-all", "whatever1")):
            page = c.get("/login")
            r = c.post(
                "/login", data={"user": name, "password": password, "csrf": csrf_of(page.text)}
            )
            assert r.status_code == 401
            assert "Wrong user name or password." in r.text
            assert "lookout_session" not in r.headers.get("set-cookie", "")


def test_a_login_post_without_the_forms_token_is_refused(
    site: LiveSite, admin: httpx.Client
) -> None:
    user = add_user(admin, "admin")
    r = httpx.post(site.url + "/login", data={"user": user, "password": "correct horse battery"})
    assert r.status_code == 403


def test_a_post_without_csrf_token_is_refused_and_changes_nothing(
    api: Api, ui_operator: Browser
) -> None:
    host, svc = api.host_with_service()
    api.result(host, svc, 2, summary="down")
    r = ui_operator.act("ack", (host, svc), comment="forged", csrf=None)
    assert r.status_code == 403
    r = ui_operator.c.post(
        "/act", data={"action": "ack", "target": f"{host}:{svc}", "comment": "x", "csrf": "nope"}
    )
    assert r.status_code == 403
    assert api.svc(host, svc)["acknowledged"] is False


def test_a_viewer_sees_no_action_forms_and_a_forged_post_is_refused(
    api: Api, ui_viewer: Browser
) -> None:
    host, svc = api.host_with_service()
    api.result(host, svc, 2, summary="disk full")
    for page in (
        ui_viewer.get("/problems", host=host),
        ui_viewer.get("/service", host=host, name=svc),
        ui_viewer.get("/host", name=host),
    ):
        assert page.status_code == 200
        assert "disk full" in page.text or host in page.text
        assert 'action="/act"' not in page.text
        assert 'value="ack"' not in page.text
    r = ui_viewer.act("ack", (host, svc), comment="I am only a viewer")
    assert r.status_code == 403
    assert "needs operator" in r.text
    assert r.headers["x-frame-options"] == "DENY"
    assert api.svc(host, svc)["acknowledged"] is False


def test_only_admins_reach_setup(ui_operator: Browser, ui_admin: Browser) -> None:
    assert ui_operator.get("/setup").status_code == 403
    assert ui_operator.post("/setup/user", {"name": "x", "role": "admin"}).status_code == 403
    page = ui_admin.get("/setup")
    assert page.status_code == 200
    assert "Add a host" in page.text


def test_next_never_leads_to_another_site(site: LiveSite, admin: httpx.Client) -> None:
    user = add_user(admin, "viewer")
    with httpx.Client(base_url=site.url) as c:
        page = c.get("/login")
        r = c.post(
            "/login",
            data={
                "user": user,
                "password": "correct horse battery",
                "csrf": csrf_of(page.text),
                "next": "//evil.example.org/",
            },
        )
        assert r.headers["location"] == "/"


def test_a_password_change_ends_the_users_sessions(
    site: LiveSite, admin: httpx.Client, ui_admin: Browser
) -> None:
    user = add_user(admin, "operator")
    b = Browser(site, user)
    try:
        assert b.get("/").status_code == 200
        r = ui_admin.post("/setup/password", {"name": user, "password": "another secret"})
        assert r.status_code == 303
        assert b.get("/").status_code == 303
        Browser(site, user, "another secret").close()
    finally:
        b.close()


def test_password_guessing_is_slowed_down(site: LiveSite, admin: httpx.Client) -> None:
    user = add_user(admin, "viewer")
    with httpx.Client(base_url=site.url) as c:

        def attempt(password: str) -> httpx.Response:
            page = c.get("/login")
            return c.post(
                "/login", data={"user": user, "password": password, "csrf": csrf_of(page.text)}
            )

        assert [attempt(f"guess {i}").status_code for i in range(5)] == [401] * 5
        refused = attempt("correct horse battery")
        assert refused.status_code == 429
        assert "Too many failed log-ins" in refused.text


def test_pages_carry_security_and_timing_headers(ui_viewer: Browser) -> None:
    r = ui_viewer.get("/problems")
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["server-timing"].startswith("app;dur=")
