"""Helpers for the REST API tests (imported by ``tests/web`` test modules)."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from livesite import LiveSite, make_site

SMALL_BODY = 2000
"""``max_request_bytes`` of the small site."""
SMALL_BATCH = 5
"""``max_results_per_request`` of the small site."""


@contextlib.contextmanager
def site_pair(base: Path, **extra: object) -> Iterator[dict[str, LiveSite]]:
    """The shared test sites, started in parallel threads (starting is the expensive part):
    ``main`` with default request limits, ``small`` with ``max_request_bytes = SMALL_BODY`` and
    ``max_results_per_request = SMALL_BATCH``; ``extra`` settings go to both."""
    sites = {
        "main": make_site(base / "main", tick_interval=0.2, **extra),
        "small": make_site(
            base / "small",
            tick_interval=0.2,
            max_request_bytes=SMALL_BODY,
            max_results_per_request=SMALL_BATCH,
            **extra,
        ),
    }
    failures: list[BaseException] = []

    def start(site: LiveSite) -> None:
        try:
            site.start()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in sites.values()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        if failures:
            pytest.fail(f"a test site did not start: {failures[0]}")
        yield sites
    finally:
        for s in sites.values():
            s.stop()


def unique(prefix: str = "h") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def problem_of(resp: httpx.Response, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 problem with ``status`` and return its body."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers
    body: dict[str, Any] = resp.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


def locs(body: dict[str, Any]) -> list[list[Any]]:
    return [e["loc"] for e in body.get("errors", [])]


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


class Api:
    """Small helpers over an admin client: create objects, submit results, read them back."""

    def __init__(self, site: LiveSite, client: httpx.Client) -> None:
        self.site = site
        self.c = client

    def host(self, prefix: str = "h", **body: Any) -> str:
        name = body.pop("name", None) or unique(prefix)
        r = self.c.post("/api/v1/hosts", json={"name": name, **body})
        assert r.status_code == 201, r.text
        return name

    def service(self, host: str, name: str = "svc", **body: Any) -> str:
        r = self.c.post(f"/api/v1/hosts/{host}/services", json={"name": name, **body})
        assert r.status_code == 201, r.text
        return name

    def host_with_service(
        self, service: str = "svc", attempts: int = 1, **host: Any
    ) -> tuple[str, str]:
        h = self.host(**host)
        return h, self.service(h, service, max_check_attempts=attempts)

    def submit(
        self, *results: dict[str, Any], client: httpx.Client | None = None
    ) -> httpx.Response:
        return (client or self.c).post("/api/v1/results", json={"results": list(results)})

    def result(self, host: str, service: str | None, state: int | str, **extra: Any) -> None:
        item: dict[str, Any] = {"host": host, "state": state, **extra}
        if service is not None:
            item["service"] = service
        r = self.submit(item)
        assert r.status_code == 200, r.text

    def svc(self, host: str, service: str) -> dict[str, Any]:
        r = self.c.get(f"/api/v1/hosts/{host}/services/{service}")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def get_host(self, host: str) -> dict[str, Any]:
        r = self.c.get(f"/api/v1/hosts/{host}")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def token(self, role: str, user: str | None = None) -> str:
        body: dict[str, Any] = {"name": unique(f"{role}-token"), "role": role}
        if user is not None:
            body["user"] = user
        r = self.c.post("/api/v1/tokens", json=body)
        assert r.status_code == 201, r.text
        token: str = r.json()["token"]
        return token

    def events(self, **params: Any) -> list[dict[str, Any]]:
        r = self.c.get("/api/v1/events", params=params)
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items
