"""Fuzzing the REST API from its own OpenAPI document (schemathesis, see ``tests/fuzzapi.py``):
no answer is a 5xx, and the site still serves, and restarts, afterwards (issue 16: an answered
request must never poison the site).

Bounded for CI: a fixed seed, the coverage phase plus ``MAX_EXAMPLES`` generated cases per
operation, no stateful phase, one worker (about 15 s on 2 cores). A longer run:
``.venv/bin/python bench/fuzz_api.py``.

Operations that change who may call are ordered, not skipped: ``DELETE /api/v1/tokens/{id}``
can revoke the token the run uses, so it runs last, with a token of its own, after the restart
check. ``DELETE /api/v1/users/{name}`` stays in the main run: the calling user cannot delete
itself (409), and other users' tokens are not the run's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from fuzzapi import REVOKE, fuzz, seed_site
from livesite import LiveSite, make_site

pytestmark = pytest.mark.integration

MAX_EXAMPLES = 10
"""Generated cases per operation, on top of the coverage phase's."""


@pytest.fixture(scope="module")
def fuzz_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    """A site of its own: the run leaves random hosts, users, clusters and channels behind."""
    site = make_site(tmp_path_factory.mktemp("fuzz") / "site", tick_interval=0.2)
    site.start()
    try:
        yield site
    finally:
        site.stop()


def test_5xx_found_by_fuzzing_are_422(fuzz_site: LiveSite) -> None:
    with fuzz_site.client() as admin:
        assert admin.post("/api/v1/hosts", json={"name": "found"}).status_code == 201
        channel = {"name": "found", "spec": {"type": "webhook", "url": "http://127.0.0.1:9/"}}
        assert admin.post("/api/v1/notifications/channels", json=channel).status_code == 200
        rule = {"name": "found", "channels": ["found"], "position": 2**70}
        answers = [
            admin.delete(f"/api/v1/tokens/{2**64}"),  # OverflowError binding it for SQLite
            admin.get("/api/v1/metrics", params={"host": "found", "step": 1e-300}),  # inf buckets
            admin.post("/api/v1/notifications/rules", json=rule),  # OverflowError (SQLite)
        ]
    assert [r.status_code for r in answers] == [422] * 3, [r.text for r in answers]


def test_no_answer_is_a_5xx(fuzz_site: LiveSite) -> None:
    seed_site(fuzz_site)
    run = fuzz(
        fuzz_site, fuzz_site.token, max_examples=MAX_EXAMPLES, filters=("--exclude-path", REVOKE)
    )
    assert run.ok, run.summary()
    selected = re.search(r"Operations:\s+(\d+) selected / (\d+) total", run.output)
    assert selected, run.summary()
    assert int(selected[1]) == int(selected[2]) - 1  # all but the revocation


def test_site_still_serves_and_restarts(fuzz_site: LiveSite) -> None:
    before = _inventory(fuzz_site)
    fuzz_site.stop()
    fuzz_site.start()
    assert _inventory(fuzz_site) == before


def test_token_revocation_answers_no_5xx(fuzz_site: LiveSite) -> None:
    with fuzz_site.client() as admin:
        r = admin.post("/api/v1/tokens", json={"name": "fuzz-revoke", "role": "admin"})
        assert r.status_code == 201, r.text
    run = fuzz(
        fuzz_site, r.json()["token"], max_examples=MAX_EXAMPLES, filters=("--include-path", REVOKE)
    )
    assert run.ok, run.summary()


def _inventory(site: LiveSite) -> dict[str, list[str]]:
    """The names of what the site holds, read through the API: it must answer every read."""
    assert httpx.get(f"{site.url}/readyz").status_code == 200
    out: dict[str, list[str]] = {}
    with site.client() as admin:
        for path in ("hosts", "services", "users", "kube/clusters", "notifications/rules"):
            r = admin.get(f"/api/v1/{path}")
            assert r.status_code == 200, (path, r.text)
            out[path] = sorted(f"{i.get('host', '')}/{i['name']}" for i in r.json()["items"])
    return out
