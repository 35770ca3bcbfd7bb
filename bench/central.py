"""Central site benchmark (issue 12): a central ``lookout serve`` over real remote sites.

    .venv/bin/python bench/central.py [--remotes 10] [--services 100000] [--problems 0.05]

Starts ``--remotes`` sites, each with ``--services`` passive services (20 per host, created in
one ``POST /api/v1/objects``) of which ``--problems`` are made CRIT/WARN/UNKNOWN by results,
and a central site that follows them all (``POST /api/v1/remotes``, plain http on loopback).
Then measures, against the issue's targets:

- the time until the central site holds every remote's objects (the full syncs);
- the central problems page: ``GET /central`` (the UI page, logged in) and
  ``GET /api/v1/central/problems?limit=100``, wall time on loopback, median and p95 of 20;
- a state change on a remote site until the central site shows it (one per remote);
- the central site's RSS and CPU while it follows the remotes with no change.

Every process runs on this machine, so the figures are lower bounds of what separate
machines give.
"""

from __future__ import annotations

import argparse
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from livesite import LiveSite, make_site

PAGE_TARGET_S = 1.0
CHANGE_TARGET_S = 5.0
PER_HOST = 20
PASSWORD = "correct horse battery"


def seed(site: LiveSite, name: str, services: int, problems: float) -> None:
    """Hosts and services in parts of 10,000 (shorter write transactions: on a loaded machine
    one of 100,000 held SQLite's lock long enough to fail a checkpoint), then results."""
    hosts = [f"{name}-h{i:05d}" for i in range(services // PER_HOST)]
    objects = [{"host": h, "name": f"svc{j:02d}"} for h in hosts for j in range(PER_HOST)]
    every = max(1, round(1 / problems)) if problems > 0 else 0
    with site.client() as http:
        http.timeout = httpx.Timeout(600)
        step = 10_000 // PER_HOST
        for start in range(0, len(hosts), step):
            part = hosts[start : start + step]
            body = {
                "hosts": [{"name": h} for h in part],
                "services": [
                    {"host": h, "name": f"svc{j:02d}"} for h in part for j in range(PER_HOST)
                ],
            }
            post(http, "/api/v1/objects", msgspec.json.encode(body), 201)
        results = [
            {
                "host": s["host"],
                "service": s["name"],
                "state": (1 + i // every % 3) if every and i % every == 0 else 0,
                "summary": "bench",
            }
            for i, s in enumerate(objects)
        ]
        for start in range(0, len(results), 20_000):
            body = msgspec.json.encode({"results": results[start : start + 20_000]})
            post(http, "/api/v1/results", body, 200)


def post(http: httpx.Client, path: str, body: bytes, want: int) -> None:
    for _ in range(30):
        r = http.post(path, content=body, headers={"content-type": "application/json"})
        if r.status_code != 503:
            break
        time.sleep(float(r.headers.get("retry-after", "1")))
    assert r.status_code == want, r.text[:500]


def start_all(sites: list[LiveSite]) -> None:
    failures: list[BaseException] = []

    def run(s: LiveSite) -> None:
        try:
            s.start(timeout=300)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in sites]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise failures[0]


def login(site: LiveSite) -> httpx.Client:
    c = httpx.Client(base_url=site.url, timeout=60, follow_redirects=False)
    page = c.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    r = c.post(
        "/login", data={"user": "bench", "password": PASSWORD, "csrf": csrf.group(1), "next": "/"}
    )
    assert r.status_code == 303, r.text
    return c


def timed(get: Any, n: int = 20) -> tuple[float, float]:
    times = []
    for _ in range(n):
        began = time.perf_counter()
        r = get()
        times.append(time.perf_counter() - began)
        assert r.status_code == 200, r.text[:300]
    times.sort()
    return statistics.median(times), times[int(0.95 * (n - 1))]


def mark(ok: bool) -> str:
    return "[ok]  " if ok else "[MISS]"


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the sites on the way out
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--remotes", type=int, default=10)
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--problems", type=float, default=0.05)
    args = parser.parse_args()
    names = [f"dc{i:02d}" for i in range(args.remotes)]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        remotes = [make_site(root / n, site_name=n) for n in names]
        central = make_site(root / "hq", site_name="hq", central={"refresh_interval": 1.0})
        sites = [*remotes, central]
        try:
            began = time.perf_counter()
            start_all(sites)
            print(f"       {len(sites)} sites started in {time.perf_counter() - began:.1f} s")
            began = time.perf_counter()
            for s, n in zip(remotes, names, strict=True):
                seed(s, n, args.services, args.problems)
            total = args.remotes * (args.services + args.services // PER_HOST)
            print(
                f"       {args.remotes} remotes × {args.services:,} services seeded in "
                f"{time.perf_counter() - began:.1f} s"
            )
            run(central, remotes, names, total, args)
        finally:
            for s in sites:
                s.stop()


def run(
    central: LiveSite, remotes: list[LiveSite], names: list[str], total: int, args: Any
) -> None:
    api = central.client()
    api.timeout = httpx.Timeout(120)
    r = api.post("/api/v1/users", json={"name": "bench", "role": "operator", "password": PASSWORD})
    assert r.status_code == 201, r.text
    began = time.perf_counter()
    for site, name in zip(remotes, names, strict=True):
        with site.client() as http:
            http.post("/api/v1/users", json={"name": "central-hq", "role": "operator"})
            token = http.post(
                "/api/v1/tokens", json={"name": "hq", "user": "central-hq", "role": "operator"}
            ).json()["token"]
        r = api.post(
            "/api/v1/remotes",
            json={"name": name, "url": site.url, "token": token, "allow_http": True},
        )
        assert r.status_code == 201, r.text
    while True:
        rows = api.get("/api/v1/remotes").json()["items"]
        held = sum(r["objects"] for r in rows)
        if held >= total:
            break
        errors = [f"{r['name']}: {r['error']}" for r in rows if r["error"]]
        if time.perf_counter() - began > 900:
            raise SystemExit(f"no full sync after 900 s ({held:,} of {total:,}): {errors}")
        time.sleep(0.5)
    synced = time.perf_counter() - began
    problems = sum(r["problems"] for r in rows)
    print(f"       full sync of {total:,} objects ({problems:,} problems) in {synced:.1f} s")
    proc = psutil.Process(central.proc.pid if central.proc else 0)
    print(f"       central RSS {proc.memory_info().rss / 1e6:,.0f} MB")
    cpu0 = proc.cpu_times()
    time.sleep(10)
    cpu1 = proc.cpu_times()
    idle = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / 10
    print(f"       central CPU while following {len(names)} quiet remotes: {idle * 100:.1f} %")

    ui = login(central)
    med, p95 = timed(lambda: ui.get("/central"))
    print(
        f"{mark(p95 <= PAGE_TARGET_S)} GET /central (UI, {problems:,} problems over "
        f"{len(names)} remotes): median {med * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms "
        f"(target ≤ {PAGE_TARGET_S:g} s)"
    )
    med, p95 = timed(lambda: api.get("/api/v1/central/problems", params={"limit": 100}))
    print(
        f"{mark(p95 <= PAGE_TARGET_S)} GET /api/v1/central/problems?limit=100: "
        f"median {med * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
    )
    med, p95 = timed(
        lambda: api.get("/api/v1/central/problems", params={"limit": 100, "site": names[0]})
    )
    print(f"       ... ?site={names[0]}: median {med * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")

    delays = []
    for site, name in zip(remotes, names, strict=True):
        host, service = f"{name}-h00001", "svc01"  # OK after seeding
        with site.client() as http:
            began = time.perf_counter()
            r = http.post(
                "/api/v1/results",
                json={"results": [{"host": host, "service": service, "state": 2, "summary": "x"}]},
            )
            assert r.status_code == 200, r.text
            while True:
                items = api.get(
                    "/api/v1/central/problems", params={"site": name, "host": host}
                ).json()["items"]
                if any(i["service"] == service for i in items):
                    break
                if time.perf_counter() - began > 60:
                    raise SystemExit(f"{name}: the change did not show within 60 s")
                time.sleep(0.02)
            delays.append(time.perf_counter() - began)
    worst = max(delays)
    print(
        f"{mark(worst <= CHANGE_TARGET_S)} a state change on a remote shown centrally: "
        f"median {statistics.median(delays):.2f} s, max {worst:.2f} s over {len(delays)} "
        f"remotes (target ≤ {CHANGE_TARGET_S:g} s)"
    )
    ui.close()
    api.close()


if __name__ == "__main__":
    main()
