"""The HTTP front door of ``lookout sites serve``: ``/<site>/…`` reaches the site's API and UI
under its prefix (links, redirects, cookie paths, OpenAPI), a token or session of site A is
refused under /B/, an unknown site is a 404 and a stopped one a 503 with Retry-After."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from frontdoor import door_root, sites, supervised
from sitehttp import api

from lookout.manager.root import Root

pytestmark = pytest.mark.integration
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(scope="module")
def door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Root, dict[str, Any]]]:
    root = door_root(tmp_path_factory.mktemp("door") / "root")
    with supervised(root):
        made = {name: sites(root, "create", name) for name in ("alpha", "beta")}
        yield root, made


def test_the_api_answers_under_the_prefix_and_refuses_another_sites_token(
    door: tuple[Root, dict[str, Any]],
) -> None:
    root, made = door
    a, b = made["alpha"], made["beta"]
    assert a["url"] == f"{root.settings.door.url}/alpha"
    with api(a["url"], a["token"]) as c:
        assert c.post("/api/v1/hosts", json={"name": "web01"}).status_code == 201
        assert [h["name"] for h in c.get("/api/v1/hosts").json()["items"]] == ["web01"]
        doc = c.get("/api/v1/openapi.json").json()
        assert doc["servers"] == [{"url": "/alpha"}]
        # a large body streams through (one POST /objects of ~1 MB)
        many = {"hosts": [{"name": f"h{i:05d}", "labels": {"pad": "x" * 40}} for i in range(8000)]}
        r = c.post("/api/v1/objects", json=many)
        assert r.status_code == 201, r.text[:300]
    with api(b["url"], a["token"]) as c:
        assert c.get("/api/v1/hosts").status_code == 401
        assert c.post("/api/v1/hosts", json={"name": "intruder"}).status_code == 401
    with api(b["url"], b["token"]) as c:
        assert c.get("/api/v1/hosts").json()["items"] == []
    with api(a["local_url"], a["token"]) as c:  # the site's own port still works, unprefixed
        assert c.get("/api/v1/openapi.json").json().get("servers") is None
        assert c.get("/api/v1/hosts/web01").status_code == 200


def test_the_ui_links_redirects_and_cookies_carry_the_prefix(
    door: tuple[Root, dict[str, Any]],
) -> None:
    _, made = door
    a, b = made["alpha"], made["beta"]
    with httpx.Client(base_url=a["url"]) as c:
        r = c.get("/")
        assert r.status_code == 303
        assert r.headers["location"] == "/alpha/login?next=%2Falpha%2F"
        page = c.get("/login?next=%2Falpha%2F")
        assert 'action="/alpha/login"' in page.text
        assert 'href="/alpha/static/ui.css"' in page.text
        assert c.get("/static/ui.css").status_code == 200
        assert re.search(r"Path=/alpha/login", page.headers["set-cookie"])
        token = CSRF.search(page.text)
        assert token is not None
        form = {"user": "admin", "password": a["password"], "csrf": token.group(1)}
        form["next"] = "/alpha/"
        done = c.post("/login", data=form)
        assert done.status_code == 303
        assert done.headers["location"] == "/alpha/"
        cookies = [h for h in done.headers.get_list("set-cookie") if "lookout_session" in h]
        assert cookies  # the session, and the half log-in's cookie (2FA) ended
        for cookie in cookies:
            assert re.search(r"Path=/alpha/(login)?(;|$)", cookie), cookie
        home = c.get("/")
        assert home.status_code == 200
        assert 'href="/alpha/hosts"' in home.text
        assert 'href="/hosts"' not in home.text
        session = next(v for k, v in c.cookies.items() if k.startswith("lookout_session"))
        name = next(k for k in c.cookies if k.startswith("lookout_session"))
    # A's session under /beta/ (as a browser would never send it; a script might): refused
    r = httpx.get(b["url"] + "/", cookies={name: session})
    assert r.status_code == 303
    assert r.headers["location"].startswith("/beta/login")
    # a next= pointing at another site's prefix is not followed
    with httpx.Client(base_url=b["url"]) as c:
        page = c.get("/login?next=%2Falpha%2F")
        assert 'name="next" value="/beta/"' in page.text


def test_unknown_sites_are_404_and_stopped_ones_503_with_retry_after(
    door: tuple[Root, dict[str, Any]], tmp_path: Path
) -> None:
    root, made = door
    url = root.settings.door.url
    r = httpx.get(f"{url}/nosuch/api/v1/hosts")
    assert r.status_code == 404
    assert "no site named 'nosuch'" in r.json()["detail"]
    assert httpx.get(f"{url}/").status_code == 404
    r = httpx.get(f"{url}/alpha?x=1")
    assert (r.status_code, r.headers["location"]) == (308, "/alpha/?x=1")
    sites(root, "stop", "beta")
    try:
        r = httpx.get(f"{url}/beta/readyz")
        assert r.status_code == 503
        assert r.headers["retry-after"] == "60"
        assert "site 'beta' is stopped" in r.json()["detail"]
    finally:
        sites(root, "start", "beta")
    assert httpx.get(f"{url}/beta/readyz").status_code == 200
    assert made["beta"]["url"] == f"{url}/beta"
