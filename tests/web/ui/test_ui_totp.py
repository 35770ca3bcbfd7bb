"""The TOTP second factor at the HTTP level: enrolment from the profile (QR code, first code,
recovery codes shown once), the log-in's second step (a half-logged-in browser reaches
nothing), replayed codes, recovery codes, the throttle, ``[auth] require_totp`` and
``lookout user totp-reset``. API tokens are not affected."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest
from typer.testing import CliRunner
from uiweb import Browser, add_user, csrf_of

from livesite import LiveSite, make_site
from lookout.cli.main import app as cli

PASSWORD = "correct horse battery"
SECRET = re.compile(r'id="totp-secret">([A-Z2-7]+)<')
CODES = re.compile(r"<li><code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code></li>")


def _code(secret: str, steps_ahead: int = 0) -> str:
    """The code of the current step (or one ahead: a second log-in within the same 30 s
    needs a later step than the first, since a used step is refused)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def _wrong(secret: str) -> str:
    """A code that is surely wrong now (not the code of any step the site accepts)."""
    near = {_code(secret, k) for k in (-2, -1, 0, 1, 2)}
    return next(c for c in ("123456", "654321", "111111", "222222") if c not in near)


def _enrol(b: Browser) -> tuple[str, list[str]]:
    """Turn TOTP on from the profile page: the seed and the recovery codes."""
    page = b.get("/profile/totp")
    assert page.status_code == 200
    assert 'src="data:image/svg+xml' in page.text  # the QR code, drawn on the server
    secret = SECRET.search(page.text)
    assert secret, page.text
    r = b.post("/profile/totp/confirm", {"code": _code(secret.group(1))})
    assert r.status_code == 303
    assert r.headers["location"] == "/profile/totp/codes"
    codes = CODES.findall(b.get("/profile/totp/codes").text)
    assert len(codes) == 10
    return secret.group(1), codes


def _password_step(site: LiveSite, user: str) -> tuple[httpx.Client, httpx.Response]:
    c = httpx.Client(base_url=site.url, timeout=30, follow_redirects=False)
    page = c.get("/login")
    r = c.post(
        "/login",
        data={"user": user, "password": PASSWORD, "csrf": csrf_of(page.text), "next": "/hosts"},
    )
    return c, r


def _code_step(c: httpx.Client, code: str) -> httpx.Response:
    page = c.get("/login/totp")
    assert page.status_code == 200
    return c.post("/login/totp", data={"code": code, "csrf": csrf_of(page.text)})


def test_enrol_from_the_profile_then_log_in_with_a_code(
    site: LiveSite, admin: httpx.Client
) -> None:
    b = Browser(site, add_user(admin, "operator"))
    try:
        assert "Set up two-factor log-in" in b.get("/profile").text
        seed = SECRET.search(b.get("/profile/totp").text)
        assert seed
        wrong = b.post("/profile/totp/confirm", {"code": _wrong(seed.group(1))})
        assert wrong.headers["location"] == "/profile/totp"
        assert "code: wrong" in html.unescape(b.get("/profile/totp").text)
        secret, codes = _enrol(b)
        assert secret == seed.group(1)  # the seed being enrolled stays until confirmed
        assert b.get("/profile/totp/codes").status_code == 303  # shown once
        assert "10 recovery codes left" in b.get("/profile").text
    finally:
        b.close()
    audit = admin.get("/api/v1/audit", params={"object": b.user, "kind": "user"}).json()["items"]
    assert [(e["verb"], e["actor"], e["channel"]) for e in audit][:1] == [("totp-on", b.user, "ui")]
    db = (site.dir / "lookout.db").read_bytes() + _wal(site.dir)
    assert secret.encode() not in db  # sealed with the site key
    assert not any(code.encode() in db for code in codes)  # hashed

    c, r = _password_step(site, b.user)
    assert r.status_code == 303
    assert r.headers["location"] == "/login/totp"
    # half logged in: no page, no form, no API
    assert c.get("/hosts").headers["location"].startswith("/login")
    assert c.get("/profile").headers["location"].startswith("/login")
    assert c.post("/act", data={"action": "recheck"}).status_code == 403
    assert c.get("/api/v1/hosts").status_code == 401
    code = _code(secret, 1)
    done = _code_step(c, code)
    assert done.status_code == 303
    assert done.headers["location"] == "/hosts"
    assert c.get("/hosts").status_code == 200
    c.close()

    again, r = _password_step(site, b.user)  # the same code, replayed
    refused = _code_step(again, code)
    assert refused.status_code == 401
    assert "Wrong or already used code." in refused.text
    assert again.get("/hosts").status_code == 303
    again.close()


def test_a_recovery_code_works_once(site: LiveSite, admin: httpx.Client) -> None:
    b = Browser(site, add_user(admin, "viewer"))
    _, codes = _enrol(b)
    b.close()
    c, _ = _password_step(site, b.user)
    assert _code_step(c, codes[3].upper().replace("-", " ")).status_code == 303
    c.close()
    c, _ = _password_step(site, b.user)
    assert _code_step(c, codes[3]).status_code == 401
    assert _code_step(c, codes[4]).status_code == 303
    assert "8 recovery codes left" in c.get("/profile").text
    c.close()


def test_wrong_codes_are_throttled_even_after_the_right_password(
    site: LiveSite, admin: httpx.Client
) -> None:
    b = Browser(site, add_user(admin, "viewer"))
    secret, _ = _enrol(b)
    b.close()
    wrong = _wrong(secret)
    c, _ = _password_step(site, b.user)
    for _ in range(3):
        assert _code_step(c, wrong).status_code == 401
    c.close()
    c, _ = _password_step(site, b.user)  # a right password does not reset the count
    assert _code_step(c, wrong).status_code == 401
    assert _code_step(c, wrong).status_code == 401
    blocked = _code_step(c, _code(secret, 1))
    assert blocked.status_code == 429
    assert "Too many failed log-ins" in blocked.text
    c.close()


def test_turning_it_off_needs_a_code_and_api_tokens_are_unaffected(
    site: LiveSite, admin: httpx.Client
) -> None:
    b = Browser(site, add_user(admin, "operator"))
    secret, _ = _enrol(b)
    token = admin.post("/api/v1/tokens", json={"name": "t", "user": b.user, "role": "operator"})
    assert token.status_code == 201, token.text
    with site.client(token.json()["token"]) as api:
        assert api.get("/api/v1/hosts").status_code == 200  # no second factor for tokens
    assert b.post("/profile/totp/off", {"code": _wrong(secret)}).status_code == 303
    assert "On:" in b.get("/profile").text
    b.post("/profile/totp/off", {"code": _code(secret, 1)})
    assert "Two-factor log-in is off" in b.get("/profile").text
    b.close()
    c, r = _password_step(site, b.user)
    assert r.headers["location"] == "/hosts"
    c.close()


def test_an_admin_resets_a_lost_factor_with_the_cli(site: LiveSite, admin: httpx.Client) -> None:
    b = Browser(site, add_user(admin, "viewer"))
    _enrol(b)
    out = CliRunner().invoke(cli, ["user", "totp-reset", b.user, "--site", str(site.dir)])
    assert out.exit_code == 0, out.output
    assert "reset; their web sessions ended" in out.output
    audit = admin.get("/api/v1/audit", params={"object": b.user, "channel": "cli"}).json()
    assert [e["verb"] for e in audit["items"]] == ["totp-reset"]
    assert b.get("/profile").status_code in (200, 303)
    c, r = _password_step(site, b.user)
    assert r.headers["location"] == "/hosts"
    c.close()
    missing = CliRunner().invoke(cli, ["user", "totp-reset", "nobody", "--site", str(site.dir)])
    assert missing.exit_code == 2
    assert "nobody" in missing.output


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    """A site with ``[auth] require_totp = true``."""
    s = make_site(tmp_path_factory.mktemp("totp") / "site", auth={"require_totp": True})
    s.start()
    try:
        yield s
    finally:
        s.stop()


def test_a_site_that_requires_totp_has_users_enrol_at_log_in(strict: LiveSite) -> None:
    with strict.client() as admin:
        user = add_user(admin, "operator")
    c, r = _password_step(strict, user)
    assert r.headers["location"] == "/login/enrol"
    assert c.get("/hosts").headers["location"].startswith("/login")
    assert c.get("/login/totp").headers["location"] == "/login"  # not a code step
    page = c.get("/login/enrol")
    assert page.status_code == 200
    secret = SECRET.search(page.text)
    assert secret
    wrong = c.post(
        "/login/enrol", data={"code": _wrong(secret.group(1)), "csrf": csrf_of(page.text)}
    )
    assert wrong.status_code == 401
    assert secret.group(1) in wrong.text  # the same seed again
    done = c.post("/login/enrol", data={"code": _code(secret.group(1)), "csrf": csrf_of(page.text)})
    assert done.status_code == 200
    assert len(CODES.findall(done.text)) == 10
    assert 'href="/hosts"' in done.text
    assert c.get("/hosts").status_code == 200  # logged in
    profile = c.get("/profile").text
    assert "This site requires two-factor log-in." in profile
    off = c.post(
        "/profile/totp/off", data={"code": _code(secret.group(1), 1), "csrf": csrf_of(profile)}
    )
    assert off.status_code == 303
    assert "requires two-factor log-in ([auth] require_totp)" in html.unescape(
        c.get("/profile").text
    )
    c.close()
    c, r = _password_step(strict, user)
    assert r.headers["location"] == "/login/totp"
    c.close()


def test_the_second_step_needs_its_own_form_token(site: LiveSite, admin: httpx.Client) -> None:
    b = Browser(site, add_user(admin, "viewer"))
    secret, _ = _enrol(b)
    b.close()
    c, _ = _password_step(site, b.user)
    r = c.post("/login/totp", data={"code": _code(secret, 1), "csrf": "forged"})
    assert r.status_code == 403
    stranger = httpx.Client(base_url=site.url, follow_redirects=False)
    assert stranger.post("/login/totp", data={"code": "123456"}).headers["location"] == "/login"
    stranger.close()
    c.close()


def _wal(site_dir: Path) -> bytes:
    wal = site_dir / "lookout.db-wal"
    return wal.read_bytes() if wal.exists() else b""
