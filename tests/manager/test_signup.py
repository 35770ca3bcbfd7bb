"""Self-service sign-up on the control plane, end to end: ``lookout sites serve`` with
``[signup] enabled`` serves the pages; an address gets a 6-character code by mail (a real SMTP
server), the code makes an account, the account's first site is made by the supervisor and
its new admin is logged in to it by a one-time link. No enumeration: an address with an account
gets the same page (and a mail saying so instead of a code). Throttled per address and per
client; few tries per code."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from smtpbox import Mailbox, code_in, mailbox

from livesite import free_port, stop
from lookout.manager.root import Root
from lookout.manager.supervisor import client_for

pytestmark = pytest.mark.integration
CLI = (sys.executable, "-m", "lookout.cli.main")
PASSWORD = "a long sign-up password"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TOKEN = re.compile(r'name="token" value="([^"]+)"')


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    import time

    deadline = time.monotonic() + 120  # a fresh interpreter importing the web stack, on a busy CI
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text()[-2000:])
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"sign-up pages not up: {log.read_text()[-2000:]}")


@pytest.fixture
def signup(root: Root) -> Iterator[tuple[httpx.Client, Mailbox, Root]]:
    with mailbox() as (box, smtp_port):
        port = free_port()
        settings = root.path / "manager.toml"
        settings.write_text(
            settings.read_text() + f'\n[signup]\nenabled = true\nlisten = "127.0.0.1:{port}"\n'
            f"smtp_port = {smtp_port}\ncodes_per_address = 2\nrequests_per_client = 11\n"
        )
        log = root.path / "supervisor.log"
        proc = subprocess.Popen(
            [*CLI, "sites", "serve", str(root.path)],
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        try:
            _wait(f"http://127.0.0.1:{port}/signup", proc, root.path / "run" / "signup.log")
            assert client_for(root) is not None
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as c:
                yield c, box, root
        finally:
            stop(proc, 60)


def test_sign_up_makes_an_account_and_a_site_and_logs_in_to_it(
    signup: tuple[httpx.Client, Mailbox, Root],
) -> None:
    c, box, root = signup
    asked = c.post("/signup", data={"email": "ada@Example.ORG"})
    assert asked.status_code == 200
    assert "a code is on its way" in asked.text
    (mail,) = box.wait_for("ada@example.org")
    code = code_in(mail)
    assert len(code) == 6

    wrong = c.post("/signup/code", data={"email": "ada@example.org", "code": "AAAAAA"})
    assert wrong.status_code == 401
    right = c.post("/signup/code", data={"email": "ada@example.org", "code": code.lower()})
    assert right.status_code == 200
    token = TOKEN.search(right.text)
    assert token

    form = {"email": "ada@example.org", "token": token.group(1), "site": "ada-shop"}
    short = c.post("/signup/account", data={**form, "password": "short"})
    assert short.status_code == 400
    assert "password: 10 to 1024 characters" in short.text
    made = c.post("/signup/account", data={**form, "password": PASSWORD})
    assert made.status_code == 303, made.text
    link = made.headers["location"]
    rec = root.record("ada-shop")
    assert link.startswith(f"http://127.0.0.1:{rec.http_port}/login/link?token=")

    with httpx.Client(timeout=30) as browser:  # the new admin, in their new site
        page = browser.get(link)
        assert page.status_code == 200
        logged = browser.post(link.split("?")[0], data={"token": link.split("token=")[1]})
        assert logged.status_code == 303
        site_url = link.split("/login/link")[0]
        home = browser.get(f"{site_url}/profile")
        assert home.status_code == 200
        assert "ada@example.org" in home.text
        assert "<small>admin</small>" in home.text
        site_dir = root.site_dir("ada-shop")
        creds = json.loads((site_dir / "cli.json").read_text())
        audit = browser.get(
            f"{site_url}/api/v1/audit",
            params={"object": "ada@example.org"},
            headers={"Authorization": f"Bearer {creds['token']}"},
        ).json()["items"]
        assert [(e["verb"], e["actor"]) for e in audit] == [("create", "sign-up")]
        again = browser.post(link.split("?")[0], data={"token": link.split("token=")[1]})
        assert again.status_code == 403  # the link works once

    with httpx.Client(base_url=site_url, timeout=30) as fresh:  # the same password works there
        page = fresh.get("/login")
        csrf = CSRF.search(page.text)
        assert csrf
        r = fresh.post(
            "/login",
            data={"user": "ada@example.org", "password": PASSWORD, "csrf": csrf.group(1)},
        )
        assert r.status_code == 303

    # one log-in for the customer's sites: the control plane is the site's OpenID provider
    cp = str(c.base_url).rstrip("/")
    with httpx.Client(base_url=site_url, timeout=30) as sso:
        assert "Log in with your Lookout account" in sso.get("/login").text
        to_provider = sso.get("/login/oidc")
        assert to_provider.status_code == 303
        authorize = to_provider.headers["location"]
        assert authorize.startswith(f"{cp}/oidc/authorize?")
        form = sso.get(authorize)
        query = re.search(r'name="query" value="([^"]+)"', form.text)
        assert query
        bad = sso.post(
            f"{cp}/oidc/authorize",
            data={
                "query": html.unescape(query.group(1)),
                "email": "ada@example.org",
                "password": "nope",
            },
        )
        assert bad.status_code == 401
        back = sso.post(
            f"{cp}/oidc/authorize",
            data={
                "query": html.unescape(query.group(1)),
                "email": "ada@example.org",
                "password": PASSWORD,
            },
        )
        assert back.status_code == 303
        assert back.headers["location"].startswith(f"{site_url}/login/oidc/callback?code=")
        done = sso.get(back.headers["location"])
        assert done.status_code == 303, done.text
        assert "ada@example.org" in sso.get("/profile").text
        # logged out of the site, still logged in at the control plane: no password asked
        csrf = CSRF.search(sso.get("/profile").text)
        assert csrf
        sso.post("/logout", data={"csrf": csrf.group(1)})
        assert sso.get("/profile").status_code == 303
        again = sso.get(sso.get("/login/oidc").headers["location"])
        assert again.status_code == 303
        assert sso.get(again.headers["location"]).status_code == 303
        assert sso.get("/profile").status_code == 200
    wrong_client = c.post(
        "/oidc/token",
        data={"grant_type": "authorization_code", "code": "x"},
        auth=("ada-shop", "not-the-secret"),
    )
    assert wrong_client.status_code == 401
    assert wrong_client.json()["error"] == "invalid_client"
    elsewhere = c.get(
        "/oidc/authorize",
        params={"client_id": "ada-shop", "redirect_uri": "https://evil.example/cb",
                "response_type": "code", "scope": "openid", "code_challenge": "x",
                "code_challenge_method": "S256"},
    )  # fmt: skip
    assert elsewhere.status_code == 400

    # the same address again: the same page, a mail that says so, no code
    again_page = c.post("/signup", data={"email": "ada@example.org"})
    assert again_page.status_code == 200
    other_page = c.post("/signup", data={"email": "bob@example.org"})
    assert again_page.text.replace("ada@", "bob@") == other_page.text
    notice = box.wait_for("ada@example.org", 2)[-1]
    assert "you have an account already" in notice["Subject"]
    assert "ada-shop" in str(notice.get_payload())


def test_codes_allow_few_tries_and_requests_are_throttled(
    signup: tuple[httpx.Client, Mailbox, Root],
) -> None:
    c, box, _ = signup
    c.post("/signup", data={"email": "eve@example.org"})
    code = code_in(box.wait_for("eve@example.org")[0])
    wrong = "AAAAAA" if code != "AAAAAA" else "BBBBBB"
    for _ in range(5):
        assert (
            c.post("/signup/code", data={"email": "eve@example.org", "code": wrong}).status_code
            == 401
        )
    spent = c.post("/signup/code", data={"email": "eve@example.org", "code": code})
    assert spent.status_code == 429
    assert "too many wrong tries" in spent.text

    # per address: two code mails an hour; the third request looks the same but sends nothing
    c.post("/signup", data={"email": "eve@example.org"})
    box.wait_for("eve@example.org", 2)
    third = c.post("/signup", data={"email": "eve@example.org"})
    assert third.status_code == 200
    assert "a code is on its way" in third.text
    # per client: 11 requests an hour; this test made 9 so far
    assert c.post("/signup", data={"email": "not-an-address"}).status_code == 400
    assert c.post("/signup", data={"email": "not@an address"}).status_code == 400
    blocked = c.post("/signup", data={"email": "zed@example.org"})
    assert blocked.status_code == 429
    assert len(box.to("eve@example.org")) == 2
    assert box.to("zed@example.org") == []
