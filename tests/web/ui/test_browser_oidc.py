"""OpenID Connect log-in against a certified provider (npm ``oidc-provider``) run locally, in
a real headless Chromium: the log-in page's "Log in with …" button, the provider's log-in and
consent pages, back to the site logged in with the role the groups map to; a user whose groups
map to nothing is refused and says so; a replayed callback is refused; the provider rotates
its signing key and log-ins still work."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from oidcprovider import CLIENT_ID, CLIENT_SECRET, Provider, need_provider, signing_key

from livesite import LiveSite, free_port, make_site
from web.ui.test_browser import ARGS, CHROMIUM

pytestmark = pytest.mark.integration

USERS = {
    "alice": {"preferred_username": "alice", "email": "alice@example.org", "groups": ["ops"]},
    "bob": {"preferred_username": "bob", "email": "bob@example.org", "groups": ["marketing"]},
    "root": {"preferred_username": "root", "groups": ["staff", "monitoring-admins"]},
}


@pytest.fixture(scope="module")
def sso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, LiveSite, Provider]]:
    need_provider()
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing (scripts/test-deps.d/ui.sh installs it)")
    from playwright.sync_api import sync_playwright

    base = tmp_path_factory.mktemp("oidc")
    provider_port = free_port()
    site = make_site(
        base / "site",
        oidc={
            "issuer": f"http://127.0.0.1:{provider_port}",
            "client_id": CLIENT_ID,
            "client_secret_file": "oidc-client-secret",
            "display_name": "Example ID",
            "scopes": ["openid", "profile", "email", "groups"],
            "role_map": {"ops": "operator", "monitoring-admins": "admin", "staff": "viewer"},
        },
    )
    secret = site.dir / "oidc-client-secret"
    secret.write_text(CLIENT_SECRET + "\n")
    secret.chmod(0o600)
    provider = Provider(
        redirect_uri=f"{site.url}/login/oidc/callback",
        log=base / "provider.log",
        users=USERS,
        port=provider_port,
    )
    provider.start()
    try:
        site.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                try:
                    yield browser, site, provider
                finally:
                    browser.close()
        finally:
            site.stop()
    finally:
        provider.stop()


def _sso_log_in(chromium: Any, site: LiveSite, login: str, seen: list[str] | None = None) -> Any:
    """Click "Log in with Example ID", log in and consent at the provider; the page back."""
    ctx = chromium.new_context(base_url=site.url)
    page = ctx.new_page()
    if seen is not None:
        page.on(
            "request", lambda r: seen.append(r.url) if "/login/oidc/callback" in r.url else None
        )
    page.goto("/login?next=/hosts")
    page.click("text=Log in with Example ID")
    page.wait_for_selector("input[name=login]")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "anything")
    page.click("button[type=submit]")
    page.wait_for_selector("button[type=submit]:has-text('Continue')")  # consent
    page.click("button[type=submit]:has-text('Continue')")
    page.wait_for_url(re.compile(re.escape(site.url)))
    page.wait_for_load_state()
    return page


def test_a_provider_user_logs_in_with_the_role_of_their_groups(
    sso: tuple[Any, LiveSite, Provider],
) -> None:
    chromium, site, _ = sso
    seen: list[str] = []
    page = _sso_log_in(chromium, site, "alice", seen)
    assert page.url == f"{site.url}/hosts"
    assert page.inner_text("header .user").startswith("alice")
    assert page.get_attribute("header .user", "title") == "your profile (role operator)"
    with site.client() as admin:
        users = {u["name"]: u for u in admin.get("/api/v1/users").json()["items"]}
    assert users["alice"]["role"] == "operator"
    assert users["alice"]["has_password"] is False
    with site.client() as admin:
        audit = admin.get("/api/v1/audit", params={"object": "alice"}).json()["items"]
    assert [(e["verb"], e["actor"], e["after"]["role"]) for e in audit] == [
        ("create", "alice", "operator")
    ]

    # the same callback again (state and code used): refused, and no session from it
    assert len(seen) == 1
    replay = page.context.new_page()
    replay.context.clear_cookies()
    replay.goto(seen[0])
    assert "already used" in replay.inner_text("main")
    page.context.close()


def test_a_user_whose_groups_map_to_nothing_is_refused(
    sso: tuple[Any, LiveSite, Provider],
) -> None:
    chromium, site, _ = sso
    page = _sso_log_in(chromium, site, "bob")
    text = page.inner_text("main")
    assert "none of your groups (marketing) has a role on this site" in text
    page.goto("/hosts")
    assert "/login" in page.url  # not logged in
    with site.client() as admin:
        names = [u["name"] for u in admin.get("/api/v1/users").json()["items"]]
    assert "bob" not in names
    page.context.close()


def test_log_in_goes_on_after_the_provider_rotates_its_key(
    sso: tuple[Any, LiveSite, Provider],
) -> None:
    chromium, site, provider = sso
    _sso_log_in(chromium, site, "root").context.close()  # the site has fetched key k1
    provider.stop()
    provider.keys = [signing_key("k2"), *provider.keys]  # k2 signs now
    provider.start()
    jwks = httpx.get(f"{provider.issuer}/jwks").json()
    assert [k["kid"] for k in jwks["keys"]] == ["k2", "k1"]
    page = _sso_log_in(chromium, site, "root")
    assert page.inner_text("header .user").startswith("root")
    assert page.get_attribute("header .user", "title") == "your profile (role admin)"
    page.context.close()
