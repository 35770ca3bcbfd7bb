"""Ingestion benchmark: engine in-process, HTTP batches, single POSTs, visibility, start-up.

    .venv/bin/python bench/ingest.py [--hosts 10000] [--services 10] [--seconds 10]
                                     [--fronts auto|N]

Sets up a throwaway SQLite site (durable: WAL, every answered result journaled) with
hosts × services passive services, then prints one line per figure. Single-result POSTs are
driven by ``wrk`` (Debian package; installed by this script when missing and possible).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from livesite import LiveSite, make_site
from lookout.domain.metrics import Metric
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult
from lookout.engine import inputs as inp
from lookout.engine.core import Engine
from lookout.sites.site import Site
from lookout.storage.series import SeriesStore

TARGETS = {
    "engine": 200_000,
    "http_batch": 100_000,
    "http_single": 10_000,
    "visible_p99_ms": 5.0,
    "startup_s": 2.0,
    "rss_per_service_kib": 4.0,
}


def line(name: str, value: float, unit: str, target: float, higher_is_better: bool = True) -> None:
    ok = value >= target if higher_is_better else value <= target
    mark = "ok " if ok else "MISS"
    cmp = "≥" if higher_is_better else "≤"
    print(f"[{mark}] {name:<46} {value:>12,.2f} {unit:<10} (target {cmp} {target:,})", flush=True)


def objects(hosts: int, services: int) -> tuple[list[HostConfig], list[ServiceConfig]]:
    hs = [HostConfig(name=f"host{h:05d}", address="10.0.0.1") for h in range(hosts)]
    ss = [
        ServiceConfig(
            host=f"host{h:05d}",
            name=f"svc{s:02d}",
            max_check_attempts=3,
            check_interval=60,
            stale_after=0,
        )
        for h in range(hosts)
        for s in range(services)
    ]
    return hs, ss


def result_batches(hosts: int, services: int, size: int, count: int) -> list[list[CheckResult]]:
    """Mostly steady OK results with a metric; about 2 % change state."""
    rnd = random.Random(7)
    batches = []
    for _ in range(count):
        batch = []
        for _ in range(size):
            h, s = rnd.randrange(hosts), rnd.randrange(services)
            state = 2 if rnd.random() < 0.02 else 0
            batch.append(
                CheckResult(
                    f"host{h:05d}",
                    f"svc{s:02d}",
                    state,
                    "OK - all fine" if not state else "CRIT",
                    "",
                    (Metric("value", rnd.random() * 100, "%", 80.0, 90.0, 0.0, 100.0),),
                )
            )
        batches.append(batch)
    return batches


def bench_engine(hosts: int, services: int) -> None:
    series = SeriesStore()
    engine = Engine(metrics=series)
    hs, ss = objects(hosts, services)
    for h in hs:
        engine.put_host(h, 0.0)
    for s in ss:
        engine.put_service(s, 0.0)
    batches = result_batches(hosts, services, 1000, 200)
    engine.apply(inp.Results(at=1.0, results=batches[0]))  # warm
    n = 0
    t0 = time.perf_counter()
    for i, batch in enumerate(batches):
        item = inp.Results(at=2.0 + i, results=batch)
        engine.apply(item)
        inp.encode(item)  # the journal body
        n += len(batch)
        if i % 20 == 0:
            engine.take_events()
            series.take_pending()
            engine.dirty.clear()
    dt = time.perf_counter() - t0
    line("engine in-process (state+metrics+journal body)", n / dt, "results/s", TARGETS["engine"])


def seed_site(
    site_dir: Path, hosts: int, services: int, fronts: str = "auto", **settings: object
) -> LiveSite:
    """A site that has been running: objects, one result per service (statuses and metric
    series exist), checkpointed. ``fronts``: its ``ingest_fronts`` setting; ``settings``: more
    of its ``lookout.toml``."""
    live = make_site(
        site_dir, ingest_fronts=fronts if fronts == "auto" else int(fronts), **settings
    )
    site = Site(site_dir)
    hs, ss = objects(hosts, services)
    site.store.save_many(hs, ss, time.time())

    async def warm() -> None:
        await site.runner.start()
        batch: list[CheckResult] = []
        metric = (Metric("value", 1.0, "%", 80.0, 90.0, 0.0, 100.0),)
        for host, service in list(site.engine.services):
            batch.append(CheckResult(host, service, 0, "OK - all fine", "", metric))
            if len(batch) == 1000:
                await site.runner.apply(inp.Results(at=time.time(), results=batch))
                batch = []
        if batch:
            await site.runner.apply(inp.Results(at=time.time(), results=batch))
        await site.runner.stop()

    asyncio.run(warm())
    site.db.dispose()
    return live


async def http_batches(live: LiveSite, hosts: int, services: int, seconds: float) -> float:
    batches = result_batches(hosts, services, 1000, 64)
    enc = msgspec.json.Encoder()
    bodies = [
        enc.encode(
            {
                "results": [
                    {
                        "host": r.host,
                        "service": r.service,
                        "state": r.state,
                        "summary": r.summary,
                        "metrics": [
                            {
                                "name": m.name,
                                "value": m.value,
                                "unit": m.unit,
                                "warn": m.warn,
                                "crit": m.crit,
                                "min": m.min,
                                "max": m.max,
                            }
                            for m in r.metrics
                        ],
                    }
                    for r in b
                ]
            }
        )
        for b in batches
    ]
    headers = {"Authorization": f"Bearer {live.token}", "Content-Type": "application/json"}
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(k: int) -> None:
        nonlocal done
        async with httpx.AsyncClient(base_url=live.url, headers=headers, timeout=60) as c:
            i = k
            while time.perf_counter() < deadline:
                r = await c.post("/api/v1/results", content=bodies[i % len(bodies)])
                if r.status_code != 200:
                    raise RuntimeError(r.text)
                done += 1000
                i += 4

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(4)))
    return done / (time.perf_counter() - t0)


WRK_LUA = """
local hosts, services = {hosts}, {services}
local token = "{token}"
local n = 0
request = function()
  n = n + 1
  local h = (n * 7919) % hosts
  local s = n % services
  local state = 0
  if n % 50 == 0 then state = 2 end
  local body = string.format(
    '{{"host":"host%05d","service":"svc%02d","state":%d,' ..
    '"summary":"seq %d","perfdata":"v=%d;80;90"}}',
    h, s, state, n, n % 100)
  return wrk.format("POST", "/api/v1/results",
    {{["Content-Type"]="application/json", ["Authorization"]="Bearer " .. token}}, body)
end
response = function(status, headers, body)
  if status ~= 200 then print("status " .. status .. " " .. body) end
end
"""


PROBE_HOSTS = 100


def ensure_wrk() -> str | None:
    path = shutil.which("wrk")
    if path is None and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True)
        path = shutil.which("wrk")
    return path


def probe_visibility(live: LiveSite, hosts: int, services: int, seconds: float) -> list[float]:
    """Post a result, then read it back; the time from the 2xx to seeing it, in ms."""
    lat: list[float] = []
    headers = {"Authorization": f"Bearer {live.token}"}
    with httpx.Client(base_url=live.url, headers=headers, timeout=10) as c:
        deadline = time.perf_counter() + seconds
        k = 0
        while time.perf_counter() < deadline:
            k += 1
            # the last PROBE_HOSTS hosts are the probe's own: wrk never writes to them
            h = f"host{hosts - PROBE_HOSTS + k % PROBE_HOSTS:05d}"
            s = f"svc{k % services:02d}"
            marker = f"probe {k}"
            r = c.post(
                "/api/v1/results", json={"host": h, "service": s, "state": 0, "summary": marker}
            )
            t0 = time.perf_counter()
            if r.status_code != 200:
                raise RuntimeError(r.text)
            while True:
                got = c.get(f"/api/v1/hosts/{h}/services/{s}").json()
                if got["summary"] == marker:
                    break
                if time.perf_counter() - t0 > 5:
                    raise RuntimeError(f"{h}/{s}: result not visible 5 s after its 2xx")
            lat.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.01)
    return lat


def bench_single(live: LiveSite, hosts: int, services: int, seconds: float) -> None:
    wrk = ensure_wrk()
    if wrk is None:
        print("[skip] single POSTs: wrk not installed (apt-get install wrk)")
        return
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(WRK_LUA.format(hosts=hosts - PROBE_HOSTS, services=services, token=live.token))
        script = fh.name
    proc = subprocess.Popen(
        [wrk, "-t2", "-c16", f"-d{int(seconds)}s", "--latency", "-s", script, live.url],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)
    lat = probe_visibility(live, hosts, services, seconds - 2)
    out, _ = proc.communicate()
    rps = next(float(x.split()[1]) for x in out.splitlines() if x.startswith("Requests/sec"))
    errors = [x for x in out.splitlines() if x.startswith("status ") or "Non-2xx" in x]
    line("HTTP single POSTs, 16 connections (wrk)", rps, "results/s", TARGETS["http_single"])
    for x in out.splitlines():  # wrk --latency: "     99%   12.34ms"
        if x.strip().startswith(("50%", "99%")):
            print(f"      request latency {x.strip()}")
    if errors:
        print("      errors:", errors[:3])
    p99 = statistics.quantiles(lat, n=100)[98] if len(lat) > 10 else float("nan")
    line(
        f"visible via API after 2xx, p99 ({len(lat)} probes)",
        p99,
        "ms",
        TARGETS["visible_p99_ms"],
        higher_is_better=False,
    )


STARTUP_CODE = """
import asyncio, json, os, sys, time
import psutil
from pathlib import Path
from lookout.sites.site import Site
proc = psutil.Process()
async def main():
    site = Site(Path(sys.argv[1]))
    rss0 = proc.memory_info().rss
    t0 = time.perf_counter()
    await site.runner.start()
    dt = time.perf_counter() - t0
    rss1 = proc.memory_info().rss
    print(json.dumps({"seconds": dt, "rss0": rss0, "rss1": rss1,
                      "services": len(site.engine.services)}))
    await site.runner.stop()
asyncio.run(main())
"""


def bench_startup(site_dir: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "psutil"], check=False)
    out = subprocess.run(
        [sys.executable, "-c", STARTUP_CODE, str(site_dir)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    data = json.loads(out.strip().splitlines()[-1])
    line(
        f"start-up with {data['services']:,} services",
        data["seconds"],
        "s",
        TARGETS["startup_s"],
        higher_is_better=False,
    )
    per = (data["rss1"] - data["rss0"]) / max(data["services"], 1) / 1024
    line(
        "resident memory per service above empty",
        per,
        "KiB",
        TARGETS["rss_per_service_kib"],
        higher_is_better=False,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--hosts", type=int, default=10_000)
    ap.add_argument("--services", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--fronts", default="auto", help="ingest_fronts: auto, or N (0: in process)")
    args = ap.parse_args()
    print(
        f"Lookout ingestion benchmark: {args.hosts:,} hosts × {args.services} services, "
        f"SQLite (WAL, synchronous=NORMAL), {os.cpu_count()} CPUs",
        flush=True,
    )
    bench_engine(args.hosts, args.services)
    with tempfile.TemporaryDirectory(prefix="lookout-bench-") as tmp:
        live = seed_site(Path(tmp) / "site", args.hosts, args.services, args.fronts)
        live.start(timeout=60)
        try:
            rate = asyncio.run(http_batches(live, args.hosts, args.services, args.seconds))
            line("HTTP batches of 1,000 (4 clients)", rate, "results/s", TARGETS["http_batch"])
            bench_single(live, args.hosts, args.services, args.seconds)
        finally:
            live.stop()
        bench_startup(Path(tmp) / "site")


if __name__ == "__main__":
    main()
