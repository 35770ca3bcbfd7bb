"""Two sites of one root: a token, a web session and an agent certificate of site A are refused
by site B (real HTTP, real mutual TLS)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from lookout_agent import client, collect, tls
from lookout_agent import wire as w
from lookout_agent.client import AgentError
from lookout_agent.state import StateDir
from sitehttp import api

from lookout.manager.manager import Manager, NewSite

pytestmark = pytest.mark.integration
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def two(manager: Manager) -> tuple[NewSite, NewSite]:
    return manager.create("alpha"), manager.create("beta")


def test_a_token_of_site_a_is_refused_by_site_b(two: tuple[NewSite, NewSite]) -> None:
    a, b = two
    with api(a.url, a.token) as c:
        assert c.get("/api/v1/hosts").status_code == 200
    with api(b.url, a.token) as c:
        assert c.get("/api/v1/hosts").status_code == 401
        assert c.post("/api/v1/hosts", json={"name": "intruder"}).status_code == 401


def test_a_web_session_of_site_a_is_refused_by_site_b(two: tuple[NewSite, NewSite]) -> None:
    a, b = two
    with httpx.Client(base_url=a.url) as c:
        page = c.get("/login")
        csrf = CSRF.search(page.text)
        assert csrf is not None
        form = {"user": "admin", "password": a.password, "csrf": csrf.group(1)}
        assert c.post("/login", data=form).status_code == 303
        [(name_a, session)] = [(k, v) for k, v in c.cookies.items() if k.startswith("lookout_s")]
        assert c.get("/").status_code == 200
    # each site has its own cookie name (a browser keeps one jar per host, not per port) ...
    name_b = session_cookie_of(b.url)
    assert name_b != name_a
    # ... and B refuses A's session under either name
    for url, name, expected in ((a.url, name_a, 200), (b.url, name_b, 303), (b.url, name_a, 303)):
        r = httpx.get(url + "/", cookies={name: session})
        assert r.status_code == expected, (url, name)
    assert httpx.get(b.url + "/").headers["location"].startswith("/login")


def session_cookie_of(url: str) -> str:
    """The session cookie name a site uses, read from the log-in form's cookie (same tag)."""
    page = httpx.get(url + "/login")
    [name] = [k for k in page.cookies if k.startswith("lookout_login_csrf_")]
    return "lookout_session_" + name.removeprefix("lookout_login_csrf_")


def test_an_agent_certificate_of_site_a_is_refused_by_site_b(
    two: tuple[NewSite, NewSite], tmp_path: Path
) -> None:
    a, b = two
    with api(a.url, a.token) as c:
        c.post("/api/v1/hosts", json={"name": "app01"}).raise_for_status()
        token = c.post("/api/v1/hosts/app01/agent-token").json()["token"]
    sd = StateDir(tmp_path / "agent")
    ca_a = client.fetch_ca(a.agent_url)
    client.register(sd, a.agent_url, token, ca_a)
    push = w.Push(
        wire_version=w.WIRE_VERSION, agent_version="test", collected_at=time.time(),
        interval=60.0, sections=collect.collect(None)[0],
    )  # fmt: skip
    body = w.to_json(push)
    assert client.request(a.agent_url, client.mtls(sd), "POST", "/push", body).status == 200
    # trust B's receiver, present A's certificate: B's receiver refuses it in the handshake
    ca_b = client.fetch_ca(b.agent_url)
    assert tls.fingerprint(ca_b) != tls.fingerprint(ca_a)
    ctx = tls.client_context(ca_b, sd.cert, sd.key)
    with pytest.raises(AgentError) as exc:
        client.request(b.agent_url, ctx, "POST", "/push", body)
    assert exc.value.tls_refused
    with api(b.url, b.token) as c:
        assert c.get("/api/v1/hosts").json()["items"] == []
