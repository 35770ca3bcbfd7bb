"""Web UI benchmark: page times of a big site, over real HTTP against ``lookout serve``.

    .venv/bin/python bench/ui.py [--hosts 5000] [--services 20] [--problems 5000] [--rounds 30]

Builds a throwaway SQLite site with hosts × services passive services (default 100,000), of
which ``--problems`` are not OK (a quarter of those acknowledged), a fifth of the hosts labelled
as Kubernetes objects of five clusters; starts ``lookout serve``, logs in like a browser and times
each page (median and p95 of ``--rounds`` requests, loopback round trip: an upper bound of the
server time). Targets from issue #6: problems ≤ 300 ms, overview ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from livesite import make_site
from lookout.domain.metrics import Metric
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult
from lookout.engine import inputs as inp
from lookout.sites.site import Site
from lookout.web.ui.passwords import set_password

PASSWORD = "benchmark password"
TARGETS_MS = {"overview": 100.0, "problems": 300.0}


def build(site_dir: Path, hosts: int, services: int, problems: int) -> None:
    site = Site(site_dir)
    hs = [
        HostConfig(
            name=f"host{h:05d}",
            address="10.0.0.1",
            labels=(
                {
                    "k8s/cluster": f"cluster{h % 5}",
                    "k8s/namespace": f"ns{h % 17}",
                    "k8s/kind": "pod",
                }
                if h % 5 == 0
                else {"env": "prod"}
            ),
        )
        for h in range(hosts)
    ]
    ss = [
        ServiceConfig(host=f"host{h:05d}", name=f"svc{s:02d}", max_check_attempts=1, stale_after=0)
        for h in range(hosts)
        for s in range(services)
    ]
    site.store.save_many(hs, ss, time.time())
    every = max(1, len(ss) // max(problems, 1))

    async def warm() -> None:
        await site.runner.start()
        metric = (Metric("value", 1.0, "%", 80.0, 90.0, 0.0, 100.0),)
        batch: list[CheckResult] = [CheckResult(h.name, "", 0, "up") for h in hs]
        bad = 0
        for i, (host, service) in enumerate(site.engine.services):
            state = 0
            if i % every == 0 and bad < problems:
                state, bad = (2, 1, 3)[bad % 3], bad + 1
            batch.append(CheckResult(host, service, state, f"state {state} summary", "", metric))
            if len(batch) >= 5000:
                await site.runner.apply(inp.Results(at=time.time(), results=batch))
                batch = []
        if batch:
            await site.runner.apply(inp.Results(at=time.time(), results=batch))
        problem_keys = [k for k, st in site.engine.status.items() if st.state and k[1]]
        keys = problem_keys[: len(problem_keys) // 4]
        await site.runner.apply(
            inp.Acknowledge(at=time.time(), keys=keys, author="bench", comment="known")
        )
        await site.runner.stop()

    asyncio.run(warm())
    set_password(site.db, "admin", PASSWORD)
    site.db.dispose()


def login(url: str) -> httpx.Client:
    c = httpx.Client(base_url=url, timeout=60)
    page = c.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    r = c.post("/login", data={"user": "admin", "password": PASSWORD, "csrf": token.group(1)})
    assert r.status_code == 303, r.text
    return c


Figures = tuple[float, float, float, float, int]
"""Round trip median and p95, server (Server-Timing) median and p95, body size."""


def server_ms(r: httpx.Response) -> float:
    match = re.search(r"dur=([0-9.]+)", r.headers.get("server-timing", ""))
    return float(match.group(1)) if match else float("nan")


def figures(trips: list[float], server: list[float], size: int) -> Figures:
    trips.sort()
    server.sort()
    p95 = int(len(trips) * 0.95) - 1
    return statistics.median(trips), trips[p95], statistics.median(server), server[p95], size


def timed(c: httpx.Client, path: str, rounds: int) -> Figures:
    c.get(path)  # warm
    trips, server = [], []
    size = 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        r = c.get(path)
        trips.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (path, r.status_code)
        server.append(server_ms(r))
        size = len(r.content)
    return figures(trips, server, size)


def timed_cold_overview(c: httpx.Client, token: str, rounds: int) -> Figures:
    """The overview right after a state change (its memo is invalid: a full recount)."""
    api = httpx.Client(
        base_url=str(c.base_url), timeout=60, headers={"Authorization": f"Bearer {token}"}
    )
    trips, server = [], []
    size = 0
    for i in range(rounds):
        r = api.post(
            "/api/v1/results",
            json={"host": "host00001", "service": "svc01", "state": i % 2, "summary": f"round {i}"},
        )
        assert r.status_code == 200, r.text
        time.sleep(0.05)  # let the engine apply it
        t0 = time.perf_counter()
        page = c.get("/")
        trips.append((time.perf_counter() - t0) * 1000)
        server.append(server_ms(page))
        size = len(page.content)
    api.close()
    return figures(trips, server, size)


def show(name: str, f: Figures) -> None:
    target = TARGETS_MS.get(name.split(" (")[0] if name.startswith("overview") else name)
    mark = f"≤ {target:.0f} ms {'ok' if f[3] <= target else 'MISS'}" if target else ""
    print(
        f"{name:<28} {f[0]:>9.1f} {f[1]:>9.1f} {f[2]:>11.1f} {f[3]:>11.1f} "
        f"{f[4] / 1024:>7.1f}  {mark}",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=5000)
    ap.add_argument("--services", type=int, default=20)
    ap.add_argument("--problems", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lookout-bench-ui-") as tmp:
        site_dir = Path(tmp) / "site"
        live = make_site(site_dir)
        t0 = time.perf_counter()
        print(
            f"building {args.hosts * args.services:,} services, {args.problems:,} problems …",
            flush=True,
        )
        build(site_dir, args.hosts, args.services, args.problems)
        print(f"built in {time.perf_counter() - t0:.1f} s; starting lookout serve …", flush=True)
        live.start(timeout=300)
        try:
            c = login(live.url)
            pages = {
                "overview": "/",
                "problems": "/problems",
                "problems page 20": "/problems?page=20",
                "problems crit unhandled": "/problems?state=crit&handled=no",
                "problems cluster filter": "/problems?cluster=cluster1",
                "host": "/host?name=host00010",
                "service": "/service?host=host00010&name=svc00",
                "services ok (page 1)": "/services?state=ok",
                "search.json": "/ui/search.json?q=host0012",
                "live.json": "/ui/live.json",
            }
            print(
                f"{'page':<28} {'trip med':>9} {'trip p95':>9} {'server med':>11} "
                f"{'server p95':>11} {'KiB':>7}  target (server p95)"
            )
            show("overview (after a change)", timed_cold_overview(c, live.token, args.rounds))
            for name, path in pages.items():
                show(name, timed(c, path, args.rounds))
        finally:
            live.stop()


if __name__ == "__main__":
    main()
