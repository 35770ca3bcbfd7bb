"""Failed bearer tokens are throttled per client address (issue 16), on the FastAPI routes and
on the lean ingestion route alike, while tokens that work from that address keep working.

In-process with an injected clock (3 failures per 10 s), then once over real HTTP from other
loopback addresses against the shared site (default 20 per 10 s)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.types import ASGIApp
from webapi import problem_of

from livesite import LiveSite
from lookout import auth
from lookout.sites.site import Site, init_site
from lookout.storage import accounts
from lookout.web.api.app import create_app
from lookout.web.api.deps import AuthThrottle, TooManyFailures, address_key

HOSTS = "/api/v1/hosts"
RESULTS = "/api/v1/results"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _principal(token_id: int) -> auth.Principal:
    return auth.Principal(user="u", role=auth.Role.ADMIN, token_id=token_id)


def test_judge_blocks_failures_and_new_tokens_not_known_ones() -> None:
    t = AuthThrottle(limit=2, window=10.0)
    known, new = _principal(1), _principal(2)
    assert t.judge("1.2.3.4", known, 0.0) is known
    assert t.judge("1.2.3.4", None, 1.0) is None
    assert t.judge("1.2.3.4", None, 2.0) is None
    with pytest.raises(TooManyFailures) as blocked:
        t.judge("1.2.3.4", None, 3.0)
    assert blocked.value.retry_after == 8.0
    with pytest.raises(TooManyFailures):  # right or wrong, a new token learns nothing
        t.judge("1.2.3.4", new, 3.0)
    assert t.judge("1.2.3.4", known, 3.0) is known
    assert t.judge("5.6.7.8", new, 3.0) is new
    assert t.judge("1.2.3.4", new, 11.0) is new  # the window has passed


def test_ipv6_addresses_count_per_64() -> None:
    assert address_key("2001:db8:1:2:a::1") == address_key("2001:db8:1:2:b::9")
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("10.0.0.1") == "10.0.0.1"


@pytest.fixture
async def small(tmp_path: Path) -> AsyncIterator[tuple[ASGIApp, Clock, str, str]]:
    """The app of a site allowing 3 failures per 10 s; its admin token and a viewer token."""
    created = init_site(
        tmp_path / "site",
        listen="127.0.0.1:1",
        extra={"auth_failure_limit": 3, "auth_failure_window": 10.0},
    )
    clock = Clock()
    site = Site(tmp_path / "site", clock=clock)
    viewer = auth.new_token()
    accounts.add_token(
        site.db, name="v", user="admin", role="viewer", token_hash=auth.hash_token(viewer), at=0
    )
    site.reload_tokens()
    yield create_app(site), clock, created.token, viewer
    site.db.dispose()


def _client(app: ASGIApp, address: str, token: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(
        transport=transport,
        base_url="http://lookout.test",
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.mark.parametrize(
    ("method", "path", "ok"),
    [("GET", HOSTS, 200), ("POST", RESULTS, 422)],  # 422: authenticated, then "no results"
)
async def test_api_answers_429_after_too_many_failures(
    small: tuple[ASGIApp, Clock, str, str], method: str, path: str, ok: int
) -> None:
    app, clock, admin, viewer = small
    body = {"results": []}
    async with _client(app, "10.1.1.1", admin) as known, _client(app, "10.1.1.1", "lk_x") as bad:
        assert (await known.request(method, path, json=body)).status_code == ok
        for _ in range(3):
            problem_of(await bad.request(method, path, json=body), 401)
        r = await bad.request(method, path, json=body)
        assert problem_of(r, 429)["detail"].startswith("too many failed authentications")
        assert r.headers["retry-after"] == "10"
        # the token that worked from here still works, without delay
        assert (await known.request(method, path, json=body)).status_code == ok
        # a request without credentials is no guess: still 401, not counted
        problem_of(await bad.request(method, path, json=body, headers={"Authorization": ""}), 401)
    async with _client(app, "10.1.1.1", viewer) as new, _client(app, "10.2.2.2", "lk_y") as other:
        problem_of(await new.get(HOSTS), 429)  # a token new to a blocked address waits
        problem_of(await other.get(HOSTS), 401)  # other addresses are not affected
        clock.now += 9.0
        assert (await new.get(HOSTS)).headers["retry-after"] == "1"
        clock.now += 1.0
        assert (await new.get(HOSTS)).status_code == 200


# ---------------------------------------------------------------------- over real HTTP
def _from(site: LiveSite, address: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=site.url,
        headers={"Authorization": f"Bearer {token}"},
        transport=httpx.HTTPTransport(local_address=address),
    )


@pytest.mark.integration
def test_live_site_throttles_by_peer_address(site: LiveSite) -> None:
    with (
        _from(site, "127.0.16.1", site.token) as known,
        _from(site, "127.0.16.1", "lk_nope") as bad,
        _from(site, "127.0.16.2", site.token) as elsewhere,
    ):
        assert known.get(HOSTS).status_code == 200
        answers = [bad.post(RESULTS, json={"results": []}).status_code for _ in range(20)]
        assert answers == [401] * 20
        r = bad.post(RESULTS, json={"results": []})
        assert problem_of(r, 429)
        assert 1 <= int(r.headers["retry-after"]) <= 10
        problem_of(bad.get(HOSTS), 429)
        assert known.get(HOSTS).status_code == 200
        problem_of(known.post(RESULTS, json={"results": []}), 422)
        assert elsewhere.get(HOSTS).status_code == 200
