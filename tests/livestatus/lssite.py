"""The Livestatus tests' site: a running ``lookout serve`` with hosts and services in known
states (tests that change state use objects of their own)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from livesite import LiveSite


@dataclass
class Site:
    live: LiveSite
    http: httpx.Client

    @property
    def socket(self) -> Path:
        return self.live.dir / "run" / "live"

    def result(self, host: str, service: str, state: int, summary: str, **extra: object) -> None:
        body = {"host": host, "service": service, "state": state, "summary": summary, **extra}
        r = self.http.post("/api/v1/results", json={"results": [body]})
        assert r.status_code < 300, r.text


def populate(http: httpx.Client) -> None:
    def post(path: str, body: dict[str, object]) -> None:
        r = http.post(path, json=body)
        assert r.status_code < 300, (path, r.text)

    post(
        "/api/v1/hosts",
        {
            "name": "web01",
            "address": "10.0.0.5",
            "groups": ["web", "prod"],
            "labels": {"contact_groups": "ops", "alias": "Web server"},
        },
    )
    post("/api/v1/hosts", {"name": "db01", "groups": ["prod"], "parents": ["web01"]})
    post("/api/v1/hosts", {"name": "idle01"})
    for host, svc, labels in [
        ("web01", "HTTP", {"service_groups": "frontend"}),
        ("web01", "Disk /", {}),
        ("web01", "Load", {}),
        ("db01", "PostgreSQL", {"service_groups": "frontend,data"}),
        ("db01", "Disk /", {}),
        ("idle01", "Pending", {}),
    ]:
        post(
            f"/api/v1/hosts/{host}/services",
            {"name": svc, "max_check_attempts": 1, "labels": labels},
        )
    post("/api/v1/notifications/contacts", {"user": "admin", "groups": ["ops"]})
    results = [
        {"host": "web01", "service": "", "state": 0, "summary": "UP"},
        {"host": "db01", "service": "", "state": 1, "summary": "no ping"},
        {
            "host": "web01",
            "service": "HTTP",
            "state": 0,
            "summary": "200 OK",
            "perfdata": "time=0.12s;1;2;0",
        },
        {
            "host": "web01",
            "service": "Disk /",
            "state": 2,
            "summary": "97% full",
            "long_output": "line two\nline three",
        },
        {"host": "web01", "service": "Load", "state": 1, "summary": "load 5"},
        {"host": "db01", "service": "PostgreSQL", "state": 3, "summary": "no answer"},
        {"host": "db01", "service": "Disk /", "state": 0, "summary": "fine"},
    ]
    r = http.post("/api/v1/results", json={"results": results})
    assert r.status_code < 300, r.text
