"""The sign-up pages behind the front door, and further sites for an account: ``/signup``,
``/oidc/…`` and ``/.well-known/…`` on the door reach the control plane; an account makes its
second site at ``/signup/sites`` with its password (up to ``sites_per_account``), is logged in
to it by a one-time link, and logs in to it through the control plane (one log-in for all of
its sites)."""

from __future__ import annotations

import contextlib
import html
import os
import pwd
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from frontdoor import CLI, door_root
from siteuserenv import Python, passable_dir, public_python, supervised, user_prefix, with_prefix
from smtpbox import Mailbox, code_in, mailbox

from livesite import free_port
from lookout.manager.root import Root

pytestmark = pytest.mark.integration
PASSWORD = "a long sign-up password"
TOKEN = re.compile(r'name="token" value="([^"]+)"')
QUERY = re.compile(r'name="query" value="([^"]+)"')


@pytest.fixture
def door(tmp_path: Path) -> Iterator[tuple[httpx.Client, Mailbox, Root]]:
    """Run as root (with a Python other users can run), the sites have users of their own:
    sign-up writes into their databases and directories as root, and they must still run."""
    python = public_python() if os.geteuid() == 0 else None
    with contextlib.ExitStack() as stack:
        if python is None:
            root = door_root(tmp_path / "root")
            python = Python(sys.executable, dict(os.environ))
        else:
            place = stack.enter_context(passable_dir())
            root = with_prefix(
                door_root(place / "root", users=True), stack.enter_context(user_prefix())
            )
        url = root.settings.door.url
        box, smtp_port = stack.enter_context(mailbox())
        settings = root.path / "manager.toml"
        settings.write_text(
            settings.read_text() + "\n[signup]\nenabled = true\n"
            f'listen = "127.0.0.1:{free_port()}"\npublic_url = "{url}"\n'
            f"smtp_port = {smtp_port}\nsites_per_account = 2\n"
        )
        root = Root(root.path)
        stack.enter_context(supervised(python, root))
        c = stack.enter_context(httpx.Client(base_url=url, timeout=60))
        deadline = time.monotonic() + 120  # the sign-up process imports the web stack
        while _status(c, "/signup") != 200:
            assert time.monotonic() < deadline, "no sign-up pages behind the door"
            time.sleep(0.1)
        yield c, box, root


def _status(c: httpx.Client, path: str) -> int:
    try:
        return c.get(path).status_code
    except httpx.TransportError:
        return 0


def _follow_link(link: str) -> None:
    with httpx.Client(timeout=30) as browser:
        assert browser.get(link).status_code == 200
        token = link.split("token=")[1]
        assert browser.post(link.split("?")[0], data={"token": token}).status_code == 303


def test_sign_up_through_the_door_then_a_second_site_up_to_the_limit(
    door: tuple[httpx.Client, Mailbox, Root],
) -> None:
    c, box, root = door
    url = root.settings.door.url
    page = c.get("/signup")
    assert "Send me a code" in page.text
    assert c.get("/signup/static/ui.css").status_code == 200
    assert c.get("/.well-known/openid-configuration").json()["issuer"] == url

    assert c.post("/signup", data={"email": "ada@example.org"}).status_code == 200
    code = code_in(box.wait_for("ada@example.org")[0])
    right = c.post("/signup/code", data={"email": "ada@example.org", "code": code})
    token = TOKEN.search(right.text)
    assert token
    first = c.post(
        "/signup/account",
        data={"email": "ada@example.org", "token": token.group(1), "site": "ada-one",
              "password": PASSWORD},
    )  # fmt: skip
    assert first.status_code == 303, first.text
    assert first.headers["location"].startswith(f"{url}/ada-one/login/link?token=")
    _follow_link(first.headers["location"])

    assert "Create the site" in c.get("/signup/sites").text
    more = {"email": "ada@example.org", "site": "ada-two"}
    wrong = c.post("/signup/sites", data={**more, "password": "not the password"})
    assert wrong.status_code == 401
    assert "wrong e-mail or password" in wrong.text
    nobody = c.post("/signup/sites", data={**more, "email": "bob@example.org", "password": "x"})
    assert nobody.status_code == 401
    assert nobody.text.replace("bob@", "ada@") == wrong.text  # no account enumeration
    assert not root.exists("ada-two")
    taken = c.post("/signup/sites", data={**more, "site": "ada-one", "password": PASSWORD})
    assert taken.status_code == 409
    reserved = c.post("/signup/sites", data={**more, "site": "oidc", "password": PASSWORD})
    assert reserved.status_code == 400
    assert "the control plane's" in html.unescape(reserved.text)

    second = c.post("/signup/sites", data={**more, "password": PASSWORD})
    assert second.status_code == 303, second.text
    assert second.headers["location"].startswith(f"{url}/ada-two/login/link?token=")
    _follow_link(second.headers["location"])
    assert root.record("ada-two").wanted == "running"
    if root.settings.site_users:  # written by root, read by the site's own user
        assert root.record("ada-two").user
        owner = pwd.getpwnam(root.record("ada-two").user).pw_uid
        assert root.site_dir("ada-two").stat().st_uid == owner
        assert (root.site_dir("ada-two") / "oidc-client-secret").stat().st_uid == owner

    third = c.post("/signup/sites", data={**more, "site": "ada-three", "password": PASSWORD})
    assert third.status_code == 403
    assert "has 2 sites, the most it may have" in third.text
    assert not root.exists("ada-three")

    # one log-in for both sites: the control plane (behind the door) is their OpenID provider
    with httpx.Client(base_url=f"{url}/ada-two", timeout=30) as sso:
        authorize = sso.get("/login/oidc").headers["location"]
        assert authorize.startswith(f"{url}/oidc/authorize?")
        query = QUERY.search(sso.get(authorize).text)
        assert query
        back = sso.post(
            f"{url}/oidc/authorize",
            data={"query": html.unescape(query.group(1)), "email": "ada@example.org",
                  "password": PASSWORD},
        )  # fmt: skip
        assert back.status_code == 303
        assert "/ada-two/login/oidc/callback?code=" in back.headers["location"]
        assert sso.get(back.headers["location"]).status_code == 303
        assert "ada@example.org" in sso.get("/profile").text


def test_no_new_site_takes_a_control_plane_name(root: Root) -> None:
    done = subprocess.run(
        [*CLI, "sites", "create", "signup", "--root", str(root.path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert "is the control plane's" in " ".join(done.stderr.split())
    assert not root.exists("signup")
