"""/readyz tells why a site is not ready to admins only: the reason of a failed write names
SQL and row data (issue 16). The app in-process; the site is not started, so it is not ready."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from lookout import auth
from lookout.sites.site import Site, init_site
from lookout.storage import accounts
from lookout.web.api.app import create_app

SECRET_SQL = "(sqlite3.OperationalError) disk I/O error [SQL: INSERT INTO journal VALUES ('pw')]"


@pytest.fixture
async def unready(tmp_path: Path) -> AsyncIterator[tuple[Site, httpx.AsyncClient, str, str]]:
    created = init_site(tmp_path / "site", listen="127.0.0.1:1")
    site = Site(tmp_path / "site")
    viewer = auth.new_token()
    accounts.add_token(
        site.db, name="v", user="admin", role="viewer", token_hash=auth.hash_token(viewer), at=0
    )
    site.reload_tokens()
    transport = httpx.ASGITransport(app=create_app(site))
    async with httpx.AsyncClient(transport=transport, base_url="http://lookout.test") as client:
        yield site, client, created.token, viewer
    site.db.dispose()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_readyz_hides_why_from_anonymous_and_non_admin_callers(
    unready: tuple[Site, httpx.AsyncClient, str, str],
) -> None:
    site, client, admin, viewer = unready
    for failed, why in ((None, "starting"), (SECRET_SQL, SECRET_SQL)):
        site.runner.failed = failed
        for headers in ({}, _bearer(viewer), _bearer("lk_wrong")):
            r = await client.get("/readyz", headers=headers)
            assert r.status_code == 503
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["detail"] == "not ready"
            assert "INSERT" not in r.text
            assert "starting" not in r.text
        r = await client.get("/readyz", headers=_bearer(admin))
        assert (r.status_code, r.json()["detail"]) == (503, f"not ready: {why}")


async def test_site_says_whether_the_engine_runs_compiled(
    unready: tuple[Site, httpx.AsyncClient, str, str],
) -> None:
    import lookout.engine.core

    _, client, _, viewer = unready
    r = await client.get("/api/v1/site", headers=_bearer(viewer))
    assert r.status_code == 200
    engine = r.json()["engine"]
    loaded = lookout.engine.core.__file__ or ""
    assert engine["compiled"] is loaded.endswith(".so")
    assert engine["detail"].startswith("compiled" if engine["compiled"] else "Python (")
