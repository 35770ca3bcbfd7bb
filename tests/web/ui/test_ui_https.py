"""Behind TLS the session cookie is ``Secure``: the app in-process, spoken to over an https
base URL (the scheme the ASGI server reports when it terminates TLS)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from uiweb import csrf_of

from lookout.sites.site import Site, init_site
from lookout.web.api.app import create_app
from lookout.web.ui.passwords import set_password

pytestmark = pytest.mark.integration


async def test_session_cookie_is_secure_over_https(tmp_path: Path) -> None:
    init_site(tmp_path / "site", listen="127.0.0.1:1")
    site = Site(tmp_path / "site")
    app = create_app(site)
    await site.start()
    try:
        set_password(site.db, "admin", "a long secret")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://lookout.test") as c:
            page = await c.get("/login")
            assert "secure" in page.headers["set-cookie"].lower()
            r = await c.post(
                "/login",
                data={"user": "admin", "password": "a long secret", "csrf": csrf_of(page.text)},
            )
            assert r.status_code == 303, r.text
            cookie = r.headers["set-cookie"].lower()
            assert re.search(r"lookout_session_[0-9a-f]{10}=", cookie)
            assert "; secure" in cookie
            assert "httponly" in cookie
    finally:
        await site.stop()
