"""The demo site: Lookout watching itself and this machine, with a passive service it feeds.

Seeds a few hosts and services once (TCP and HTTP checks of Lookout's own port, PostgreSQL's
port, passive load and memory services) and then submits the passive results every interval,
through the same engine path as ``POST /results``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from lookout.config import parse_listen
from lookout.domain.metrics import Metric
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult
from lookout.engine.inputs import Results

log = logging.getLogger(__name__)

FEED_INTERVAL = 30.0


def demo_objects(listen: str) -> tuple[list[HostConfig], list[ServiceConfig]]:
    _, port = parse_listen(listen)
    base = f"http://127.0.0.1:{port}"
    hosts = [
        HostConfig(
            name="lookout",
            address="127.0.0.1",
            labels={"role": "monitoring", "env": "demo"},
            check={"type": "tcp", "port": port},
            check_interval=30,
            retry_interval=10,
        ),
        HostConfig(
            name="database",
            address="127.0.0.1",
            labels={"role": "db", "env": "demo"},
            parents=("lookout",),
            check={"type": "alive", "ports": [5432]},  # ping, else PostgreSQL's port
        ),
    ]
    services = [
        ServiceConfig(
            host="lookout",
            name="API TCP",
            check={"type": "tcp", "port": port, "warn": 0.5, "crit": 2.0},
            check_interval=30,
            retry_interval=10,
        ),
        ServiceConfig(
            host="lookout",
            name="API health",
            check={"type": "http", "url": f"{base}/healthz", "warn": 0.5, "crit": 2.0},
            check_interval=30,
            retry_interval=10,
        ),
        ServiceConfig(
            host="lookout",
            name="API ready",
            check={"type": "http", "url": f"{base}/readyz", "warn": 0.5, "crit": 2.0},
            check_interval=60,
            retry_interval=15,
        ),
        ServiceConfig(
            host="lookout", name="CPU load", check_interval=FEED_INTERVAL, max_check_attempts=2
        ),
        ServiceConfig(
            host="lookout", name="Memory", check_interval=FEED_INTERVAL, max_check_attempts=2
        ),
        ServiceConfig(
            host="database",
            name="PostgreSQL TCP",
            check={"type": "tcp", "port": 5432},
            check_interval=60,
            retry_interval=20,
        ),
        ServiceConfig(
            host="database", name="Backup age", check_interval=FEED_INTERVAL, max_check_attempts=1
        ),
    ]
    return hosts, services


async def seed(site: Any) -> None:
    hosts, services = demo_objects(site.settings.listen)
    for h in hosts:
        if h.name not in site.engine.hosts:
            await site.save_host(h, create=True)
    for s in services:
        if (s.host, s.name) not in site.engine.services:
            await site.save_service(s, create=True)


def _load_result() -> CheckResult:
    cores = os.cpu_count() or 1
    load1, load5, load15 = os.getloadavg()
    warn, crit = 2.0 * cores, 4.0 * cores
    state = 2 if load1 >= crit else 1 if load1 >= warn else 0
    summary = f"load {load1:.2f} {load5:.2f} {load15:.2f} on {cores} cores"
    metrics = tuple(
        Metric(name, value, "", warn, crit, 0.0)
        for name, value in (("load1", load1), ("load5", load5), ("load15", load15))
    )
    return CheckResult("lookout", "CPU load", state, summary, "", metrics)


def _memory_result() -> CheckResult:
    info: dict[str, int] = {}
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                info[key] = int(rest.split()[0]) * 1024
    except OSError as exc:
        return CheckResult("lookout", "Memory", 3, f"cannot read /proc/meminfo: {exc}")
    total, avail = info.get("MemTotal", 0), info.get("MemAvailable", 0)
    used_pct = 100.0 * (total - avail) / total if total else 0.0
    state = 2 if used_pct >= 95 else 1 if used_pct >= 90 else 0
    summary = f"{used_pct:.1f}% used of {total / 2**30:.1f} GiB"
    return CheckResult(
        "lookout",
        "Memory",
        state,
        summary,
        "",
        (Metric("mem_used_percent", used_pct, "%", 90.0, 95.0, 0.0, 100.0),),
    )


def _backup_result(tick: int) -> CheckResult:
    """A made-up backup job that fails every tenth round, so the demo shows a problem."""
    if tick % 10 == 2:
        return CheckResult("database", "Backup age", 2, "last backup failed: disk quota exceeded")
    age = (tick % 10) * FEED_INTERVAL / 60
    return CheckResult(
        "database",
        "Backup age",
        0,
        f"last backup {age:.0f} min ago",
        "",
        (Metric("age", age * 60, "s", 86400.0, 172800.0, 0.0),),
    )


async def feed(site: Any, interval: float = FEED_INTERVAL) -> None:
    """Submit the demo's passive results forever."""
    tick = 0
    while True:
        results = [_load_result(), _memory_result(), _backup_result(tick)]
        try:
            await site.runner.apply(Results(at=site.clock(), results=results))
        except Exception:  # the demo must keep feeding
            log.exception("demo feed failed")
        tick += 1
        await asyncio.sleep(interval)
