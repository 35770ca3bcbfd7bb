"""HTTP helpers for the manager's tests: a site's API with a token."""

from __future__ import annotations

from typing import Any

import httpx


def api(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def submit(url: str, token: str, host: str, service: str, state: int, summary: str) -> None:
    with api(url, token) as c:
        body = {"results": [{"host": host, "service": service, "state": state, "summary": summary}]}
        c.post("/api/v1/results", json=body).raise_for_status()


def add_service(url: str, token: str, host: str, service: str) -> None:
    with api(url, token) as c:
        c.post("/api/v1/hosts", json={"name": host}).raise_for_status()
        c.post(f"/api/v1/hosts/{host}/services", json={"name": service}).raise_for_status()


def history(url: str, token: str) -> dict[str, Any]:
    """What a restore must bring back: statuses and the event log."""
    with api(url, token) as c:
        services = c.get("/api/v1/services").json()["items"]
        events = c.get("/api/v1/events", params={"limit": 1000}).json()["items"]
    return {"services": services, "events": events}
