"""A small, realistic site for the browser tests and the screenshots: web servers, a database,
a Kubernetes cluster (by labels), metrics with four hours of history, a few problems."""

from __future__ import annotations

import math
import time
from typing import Any

import httpx

K8S = {"k8s/cluster": "prod-eu", "k8s/namespace": "shop"}


def _post(c: httpx.Client, path: str, body: dict[str, Any]) -> None:
    r = c.post(path, json=body)
    assert r.status_code == 201, r.text


def seed(c: httpx.Client) -> None:
    hosts: list[tuple[str, dict[str, str], list[str]]] = [
        ("router-1", {"role": "network", "env": "prod"}, []),
        ("web-01", {"role": "web", "env": "prod"}, ["router-1"]),
        ("web-02", {"role": "web", "env": "prod"}, ["router-1"]),
        ("web-03", {"role": "web", "env": "prod"}, ["router-1"]),
        ("db-01", {"role": "db", "env": "prod"}, ["router-1"]),
        ("prod-eu", {"k8s/cluster": "prod-eu", "k8s/kind": "cluster"}, []),
        ("shop.checkout", {**K8S, "k8s/kind": "deployment", "k8s/name": "checkout"}, []),
        (
            "shop.checkout-7d9f-x2b",
            {**K8S, "k8s/kind": "pod", "k8s/workload": "checkout", "k8s/name": "checkout-7d9f-x2b"},
            [],
        ),
        ("staging", {"k8s/cluster": "staging", "k8s/kind": "cluster"}, []),
    ]
    for name, labels, parents in hosts:
        _post(
            c,
            "/api/v1/hosts",
            {"name": name, "address": "10.0.0.1", "labels": labels, "parents": parents},
        )
    services = {
        "web-01": ["CPU load", "Memory", "Filesystem /var", "HTTPS shop.example.org"],
        "web-02": ["CPU load", "Memory", "Filesystem /var"],
        "web-03": ["CPU load", "Memory", "Filesystem /var"],
        "db-01": ["CPU load", "PostgreSQL connections", "Backup age"],
        "router-1": ["Interface eth0"],
        "prod-eu": ["Nodes ready"],
        "shop.checkout": ["Replicas"],
        "shop.checkout-7d9f-x2b": ["Pod status"],
        "staging": ["Nodes ready"],
    }
    for host, names in services.items():
        for name in names:
            _post(c, f"/api/v1/hosts/{host}/services", {"name": name, "max_check_attempts": 1})
    now = time.time()
    history = []
    for i in range(48, 0, -1):  # four hours, every five minutes
        at = now - i * 300
        wave = math.sin(i / 6)
        for host in ("web-01", "web-02", "web-03", "db-01"):
            load = 1.5 + wave + (3.5 if host == "web-01" and i < 12 else 0.0)
            history.append(
                _r(host, "CPU load", 0, f"load {load:.2f}", f"load1={load:.2f};4;6;0", at)
            )
        history.append(
            _r(
                "web-01",
                "Memory",
                0,
                "61% used",
                f"mem_used_percent={60 + wave * 5:.1f}%;90;95;0;100",
                at,
            )
        )
        history.append(
            _r(
                "db-01",
                "PostgreSQL connections",
                0,
                "41 connections",
                f"connections={40 + 20 * (1 + wave):.0f};150;180;0;200",
                at,
            )
        )
    assert c.post("/api/v1/results", json={"results": history}).status_code == 200
    current = [
        _r("web-01", "CPU load", 2, "load 6.40 (critical at 6.00)", "load1=6.4;4;6;0", now),
        _r(
            "web-01",
            "Filesystem /var",
            2,
            "97.2% used (19.4 of 20.0 GiB), critical at 95%",
            "fs_used_percent=97.2%;90;95;0;100",
            now,
        ),
        _r(
            "web-01",
            "HTTPS shop.example.org",
            1,
            "certificate expires in 9 days (warn below 14)",
            "",
            now,
        ),
        _r("web-02", "Filesystem /var", 0, "41% used", "fs_used_percent=41%;90;95;0;100", now),
        _r(
            "web-03",
            "Filesystem /var",
            1,
            "91.0% used, warning at 90%",
            "fs_used_percent=91%;90;95;0;100",
            now,
        ),
        _r("db-01", "Backup age", 2, "last backup failed: disk quota exceeded", "", now),
        _r("router-1", "Interface eth0", 0, "up, 1 Gbit/s, 3% in / 1% out", "", now),
        _r("prod-eu", "Nodes ready", 0, "3 of 3 nodes ready", "", now),
        _r("shop.checkout", "Replicas", 1, "2 of 3 replicas available", "", now),
        _r(
            "shop.checkout-7d9f-x2b",
            "Pod status",
            2,
            "CrashLoopBackOff: container checkout restarted 14 times",
            "",
            now,
        ),
        _r("staging", "Nodes ready", 0, "2 of 2 nodes ready", "", now),
        _r("web-02", "Memory", 0, "48% used", "", now),
        _r("web-03", "Memory", 0, "52% used", "", now),
    ]
    for host in (
        "router-1",
        "web-01",
        "web-02",
        "web-03",
        "db-01",
        "prod-eu",
        "shop.checkout",
        "shop.checkout-7d9f-x2b",
        "staging",
    ):
        current.append({"host": host, "state": 0, "summary": "reachable"})
    assert c.post("/api/v1/results", json={"results": current}).status_code == 200


def _r(
    host: str, service: str, state: int, summary: str, perfdata: str, at: float
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "host": host,
        "service": service,
        "state": state,
        "summary": summary,
        "checked_at": at,
    }
    if perfdata:
        out["perfdata"] = perfdata
    return out
