"""Ingest under churn: batch latency (does an answer wait on a checkpoint?), overload answers,
and resident memory over time.

    .venv/bin/python bench/churn.py [--hosts 1000] [--services 10] [--seconds 30]
                                    [--rate 0] [--conns 4] [--per 1000] [--sample 5]
                                    [--fronts auto|N]
                                    [--checkpoint-interval 0]

Seeds a throwaway SQLite site (hosts × services passive services), starts ``lookout serve`` and
posts batches of ``--per`` results over ``--conns`` connections for ``--seconds``: every result
changes its service's state and carries perfdata text (the peers' comparison load). ``--rate``
paces the clients to that many results/s (0: as fast as they go). A 429/503 is honoured: the
client waits ``Retry-After`` and sends the same batch again, so nothing is lost. Prints
results/s, request latency p50/p99/max, the refusals, and the server's RSS every ``--sample``
seconds (for the memory goal: run ``--seconds 600`` and compare minute 5 with minute 10).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import msgspec
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from ingest import seed_site


def bodies(hosts: int, services: int, per: int) -> list[bytes]:
    """Three passes over every service, states 0/1/2 rotating: every result changes state."""
    n = hosts * services
    order = [(i * 7919) % n for i in range(n)]
    out = []
    k = 0
    enc = msgspec.json.Encoder()
    for p in range(3):
        for b in range(0, n, per):
            items = []
            for j in order[b : b + per]:
                k += 1
                items.append(
                    {
                        "host": f"host{j // services:05d}",
                        "service": f"svc{j % services:02d}",
                        "state": (p + j) % 3,
                        "summary": f"churn {k}",
                        "perfdata": f"v={k % 1000};80;90;0;100",
                    }
                )
            out.append(enc.encode({"results": items}))
    return out


class Load:
    def __init__(self, url: str, token: str, posts: list[bytes], per: int) -> None:
        self.url, self.posts, self.per = url, posts, per
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.accepted = 0
        self.refused = 0
        self.refusal_ms: list[float] = []
        self.latency_ms: list[float] = []
        self.next = 0

    async def worker(self, deadline: float, interval: float) -> None:
        async with httpx.AsyncClient(base_url=self.url, headers=self.headers, timeout=60) as c:
            due = time.perf_counter()
            while time.perf_counter() < deadline:
                body = self.posts[self.next % len(self.posts)]
                self.next += 1
                while True:
                    t0 = time.perf_counter()
                    r = await c.post("/api/v1/results", content=body)
                    ms = (time.perf_counter() - t0) * 1000
                    if r.status_code in (429, 503):
                        self.refused += 1
                        self.refusal_ms.append(ms)
                        await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
                        continue  # the same batch again: nothing is lost
                    if r.status_code != 200:
                        raise RuntimeError(f"{r.status_code}: {r.text[:500]}")
                    self.latency_ms.append(ms)
                    self.accepted += r.json()["accepted"]
                    break
                if interval:
                    due += interval
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))


def q(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    if len(values) < 3:
        return max(values)
    return statistics.quantiles(values, n=1000)[int(p * 10) - 1]


def rss_mib(pid: int) -> float:
    """Resident memory of the site and its ingest fronts."""
    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children()]) / 2**20


async def sample_rss(
    pid: int, every: float, deadline: float, t0: float, url: str, token: str
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as c:
        while time.perf_counter() < deadline:
            await asyncio.sleep(every)
            rss = rss_mib(pid)
            held = await sqlite_mib(c)
            print(
                f"  t={time.perf_counter() - t0:6.0f} s  RSS {rss:7.1f} MiB  "
                f"(SQLite {held:6.1f} MiB)",
                flush=True,
            )


async def sqlite_mib(c: httpx.AsyncClient) -> float:
    """What SQLite holds in the server (``lookout_sqlite_memory_bytes`` of ``/metrics``)."""
    try:
        text = (await c.get("/metrics")).text
    except httpx.HTTPError:
        return float("nan")
    for line in text.splitlines():
        if line.startswith("lookout_sqlite_memory_bytes "):
            return float(line.split()[1]) / 2**20
    return float("nan")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) used so far by the site and by its ingest fronts."""
    proc = psutil.Process(pid)
    own = proc.cpu_times()
    fronts = sum(sum(c.cpu_times()[:2]) for c in proc.children())
    return own.user + own.system, fronts


async def run(a: argparse.Namespace, url: str, token: str, pid: int) -> None:
    load = Load(url, token, bodies(a.hosts, a.services, a.per), a.per)
    rss0 = rss_mib(pid)
    cpu0 = cpu_seconds(pid)
    print(f"  idle RSS {rss0:.1f} MiB", flush=True)
    t0 = time.perf_counter()
    deadline = t0 + a.seconds
    interval = a.conns * a.per / a.rate if a.rate else 0.0
    await asyncio.gather(
        sample_rss(pid, a.sample, deadline, t0, url, token),
        *(load.worker(deadline, interval) for _ in range(a.conns)),
    )
    dt = time.perf_counter() - t0
    lat = load.latency_ms
    print(f"  results/s                  {load.accepted / dt:12,.0f}")
    print(
        f"  request latency ms         p50 {q(lat, 50):.1f}  p99 {q(lat, 99):.1f}  "
        f"max {max(lat, default=float('nan')):.1f}  ({len(lat)} answers)"
    )
    ref = load.refusal_ms
    print(
        f"  refused (429/503)          {load.refused}  answered within ms: "
        f"p99 {q(ref, 99):.1f}  max {max(ref, default=0):.1f}"
    )
    print(f"  RSS after                  {rss_mib(pid):.1f} MiB")
    # CPU per result does not depend on how busy the machine is, unlike results/s
    cpu1 = cpu_seconds(pid)
    per = 1e6 / max(load.accepted, 1)
    print(
        f"  CPU µs per result          site {(cpu1[0] - cpu0[0]) * per:.1f}  "
        f"fronts {(cpu1[1] - cpu0[1]) * per:.1f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--services", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--rate", type=float, default=0.0, help="results/s (0: as fast as possible)")
    ap.add_argument("--conns", type=int, default=4)
    ap.add_argument("--per", type=int, default=1000)
    ap.add_argument("--sample", type=float, default=5.0, help="seconds between RSS samples")
    ap.add_argument("--fronts", default="auto", help="ingest_fronts: auto, or N (0: in process)")
    ap.add_argument(
        "--checkpoint-interval", type=float, default=0.0, help="the site's (0: its default)"
    )
    a = ap.parse_args()
    settings = {"checkpoint_interval": a.checkpoint_interval} if a.checkpoint_interval else {}
    print(
        f"churn: {a.hosts:,} hosts × {a.services} services, batches of {a.per} over "
        f"{a.conns} connections, every result a state change with perfdata, "
        f"ingest_fronts = {a.fronts}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="lookout-churn-") as tmp:
        live = seed_site(Path(tmp) / "site", a.hosts, a.services, a.fronts, **settings)
        live.start(timeout=120)
        try:
            assert live.proc is not None
            time.sleep(2)
            asyncio.run(run(a, live.url, live.token, live.proc.pid))
        finally:
            live.stop()


if __name__ == "__main__":
    main()
