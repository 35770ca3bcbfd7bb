"""Nagios plugin benchmark: a real site runs check_dummy for 20,000 services every 10 s.

    .venv/bin/python bench/plugins.py [--services 20000] [--interval 10] [--seconds 30]

Sets up a throwaway SQLite site with one command (``$USER1$/check_dummy $ARG1$ $ARG2$``) and
``--services`` services using it (10 per host, ``check_interval = --interval``), starts it
with ``lookout serve`` and, after one interval of warm-up (first runs are spread over it),
reads ``/metrics`` four times a second for ``--seconds``: checks run per second and the
scheduler's lag (how late the oldest due check is; an upper bound of every check's scheduling
latency at that moment). Meanwhile a client asks the REST API for a service every 20 ms.
Also prints the executor alone against asyncio's subprocess path (same machine, same plugin).
Needs Debian's monitoring-plugins (scripts/test-deps.d/plugins.sh).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from livesite import make_site
from lookout.config import load_settings
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.sources.active.plugins import Executor
from lookout.storage.commands import save_command
from lookout.storage.database import migrate, open_database
from lookout.storage.series import SeriesStore
from lookout.storage.store import SiteStore

DUMMY = "/usr/lib/nagios/plugins/check_dummy"
TARGETS = {"checks_per_s": 1500.0, "lag_p99_s": 1.0, "api_p99_ms": 50.0}


def line(name: str, value: float, unit: str, target: float, higher_is_better: bool = True) -> None:
    ok = value >= target if higher_is_better else value <= target
    mark = "ok " if ok else "MISS"
    cmp = "≥" if higher_is_better else "≤"
    print(f"[{mark}] {name:<46} {value:>12,.2f} {unit:<10} (target {cmp} {target:,})", flush=True)


def info(name: str, value: float, unit: str) -> None:
    print(f"[info] {name:<46} {value:>12,.2f} {unit}", flush=True)


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) > 1 else values[0]


async def spawn_rates(n: int) -> tuple[float, float]:
    """check_dummy runs per second: our executor, then asyncio.create_subprocess_exec."""
    executor = Executor(concurrency=64)
    started = time.perf_counter()
    await asyncio.gather(*(executor.execute([DUMMY, "0", "ok"], 10) for _ in range(n)))
    ours = n / (time.perf_counter() - started)
    slots = asyncio.Semaphore(64)

    async def one() -> None:
        async with slots:
            proc = await asyncio.create_subprocess_exec(
                DUMMY,
                "0",
                "ok",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
            await proc.communicate()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    return ours, n / (time.perf_counter() - started)


def populate(
    site_dir: Path, services: int, interval: float, check: dict[str, object] | None = None
) -> None:
    """``services`` services, 10 per host, running ``check`` (default: check_dummy)."""
    settings = load_settings(site_dir)
    db = open_database(settings.database(site_dir))
    try:
        migrate(db)
        now = time.time()
        save_command(db, "check_dummy", "$USER1$/check_dummy $ARG1$ $ARG2$", now, create=True)
        hosts = [HostConfig(name=f"host{h:05d}") for h in range((services + 9) // 10)]
        check = check or {"type": "nagios", "command": "check_dummy", "args": ["0", "bench"]}
        svcs = [
            ServiceConfig(
                host=f"host{i // 10:05d}",
                name=f"dummy{i % 10}",
                check=check,
                check_interval=interval,
                retry_interval=interval,
                max_check_attempts=1,
                stale_after=0,
            )
            for i in range(services)
        ]
        SiteStore(db, SeriesStore()).sync_objects(hosts, svcs, [], [], now)
    finally:
        db.dispose()


def metric(text: str, name: str) -> float:
    for row in text.splitlines():
        if row.startswith(name + " "):
            return float(row.split()[1])
    raise KeyError(name)


def api_probe(url: str, token: str, stop: threading.Event, out: list[float]) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
        i = 0
        while not stop.is_set():
            started = time.perf_counter()
            r = client.get(f"/api/v1/hosts/host{i % 100:05d}/services/dummy{i % 10}")
            r.raise_for_status()
            out.append((time.perf_counter() - started) * 1000)
            i += 1
            stop.wait(0.02)


def run_site(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="lookout-bench-plugins-") as tmp:
        site = make_site(
            Path(tmp) / "site",
            check_concurrency=args.concurrency,
            execution={"concurrency": args.concurrency, "spawners": args.spawners},
            checkpoint_interval=10.0,
        )
        populate(site.dir, args.services, args.interval)
        site.start(timeout=120)
        try:
            measure(site.url, site.token, args)
        finally:
            site.stop()


def measure(url: str, token: str, args: argparse.Namespace) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
        time.sleep(args.interval)  # first runs are spread over one interval
        stop = threading.Event()
        api_ms: list[float] = []
        probe = threading.Thread(target=api_probe, args=(url, token, stop, api_ms))
        probe.start()
        lags: list[float] = []
        first = client.get("/metrics").text
        t0, runs0 = time.perf_counter(), metric(first, "lookout_checks_run_total")
        while time.perf_counter() - t0 < args.seconds:
            time.sleep(0.25)
            lags.append(metric(client.get("/metrics").text, "lookout_scheduler_lag_seconds"))
        last = client.get("/metrics").text
        elapsed = time.perf_counter() - t0
        stop.set()
        probe.join()
        rate = (metric(last, "lookout_checks_run_total") - runs0) / elapsed
        demand = args.services / args.interval
        info(f"demand ({args.services:,} services every {args.interval:g} s)", demand, "checks/s")
        line("check_dummy checks run (site, sustained)", rate, "checks/s", TARGETS["checks_per_s"])
        line("scheduling lag p99 (sampled 4/s)", p99(lags), "s", TARGETS["lag_p99_s"], False)
        info("scheduling lag max", max(lags), "s")
        line("REST API GET service p99 meanwhile", p99(api_ms), "ms", TARGETS["api_p99_ms"], False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--services", type=int, default=20_000)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--spawn-runs", type=int, default=5000)
    parser.add_argument("--spawners", type=int, default=2, help="0: spawn from the site")
    args = parser.parse_args()
    if not Path(DUMMY).exists():
        sys.exit(f"{DUMMY} missing: run scripts/test-deps.d/plugins.sh")
    ours, theirs = asyncio.run(spawn_rates(args.spawn_runs))
    info("executor alone (posix_spawn + pidfd)", ours, "runs/s")
    info("asyncio.create_subprocess_exec alone", theirs, "runs/s")
    run_site(args)


if __name__ == "__main__":
    main()
