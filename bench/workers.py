"""Worker pool benchmark: check_dummy through NATS JetStream workers against the embedded runner.

    .venv/bin/python bench/workers.py [--services 16000] [--interval 10] [--seconds 30]
                                      [--workers 1,2,4] [--concurrency 64] [--spawners 1]
                                      [--check dummy|http]

``--check http``: built-in HTTP checks against a local server (bench/builtin_checks.py's)
instead of check_dummy.

One run, one machine. For each setup a throwaway SQLite site (as bench/plugins.py makes it:
one command ``$USER1$/check_dummy $ARG1$ $ARG2$``, ``--services`` services, 10 per host,
every ``--interval`` seconds) is started with ``lookout serve``; after one interval of warm-up
``/metrics`` is read four times a second for ``--seconds``:

- checks per second (``lookout_checks_run_total``; with workers the results they sent,
  ``lookout_pool_results_total``, as a check no worker takes in time is answered UNKNOWN)
  and the scheduler's lag p99 (how late the oldest due check is), as bench/plugins.py
  measures the embedded runner; the demand (1,600 checks/s) is a little above the target;
- with workers also the pools' latency p99 from a check's due time to its journaled result
  (``GET /api/v1/pools``: the queue in NATS and the worker's run included), the figure the
  target is judged on, and the checks answered UNKNOWN because no worker took them in time;
- CPU seconds per check of the site (with its spawner processes) and of the workers.

Setups: the embedded runner (``[execution] spawners = 2``), then ``[execution] runner =
"nats"`` with 1, 2 and 4 ``lookout worker`` processes (``--concurrency`` checks each, plugins
started by ``--spawners`` helper processes each) on a nats-server with JetStream of its own.
Needs Debian's monitoring-plugins and nats-server (scripts/test-deps.d/).
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from builtin_checks import start_server
from plugins import DUMMY, info, line, metric, p99, populate

from livepools import WorkerProcess, nats_site
from livesite import LiveSite, make_site
from natsserver import BINARY, single

TARGETS = {"checks_per_s": 1500.0, "lag_p99_s": 1.0}


@dataclass
class Figures:
    rate: float
    """Checks with a real result per second (for workers: results journaled)."""
    lag_p99: float
    latency_p99: float | None
    unanswered: float
    """Checks answered UNKNOWN because no worker took them in time."""
    site_cpu: float
    """CPU seconds of the site (its spawners and the plugins they ran included) per check."""
    worker_cpu: float


def cpu(pids: list[int]) -> float:
    """User + system seconds of ``pids`` and their children so far, with the programs they
    ran and reaped (the plugins, started by the spawners)."""
    total = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            procs = [proc, *proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for p in procs:
            try:
                t = p.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += t.user + t.system + t.children_user + t.children_system
    return total


def measure(site: LiveSite, workers: list[WorkerProcess], args: argparse.Namespace) -> Figures:
    assert site.proc is not None
    site_pids, worker_pids = [site.proc.pid], [w.pid for w in workers]
    # a check that no worker took in time is run too, as UNKNOWN: count the workers' results
    done = "lookout_pool_results_total" if workers else "lookout_checks_run_total"
    with site.client() as client:
        time.sleep(args.interval)  # first runs are spread over one interval
        lags: list[float] = []
        first = client.get("/metrics").text
        t0, runs0 = time.perf_counter(), metric(first, done)
        missed0 = metric(first, "lookout_pool_no_worker_total") if workers else 0.0
        site0, workers0 = cpu(site_pids), cpu(worker_pids)
        while time.perf_counter() - t0 < args.seconds:
            time.sleep(0.25)
            lags.append(metric(client.get("/metrics").text, "lookout_scheduler_lag_seconds"))
        last = client.get("/metrics").text
        elapsed = time.perf_counter() - t0
        runs = metric(last, done) - runs0
        missed = metric(last, "lookout_pool_no_worker_total") - missed0 if workers else 0.0
        site_cpu, worker_cpu = cpu(site_pids) - site0, cpu(worker_pids) - workers0
        latency = None
        if workers:
            [pool] = client.get("/api/v1/pools").json()["pools"]
            latency = pool["latency_p99"]
    runs = max(runs, 1.0)
    return Figures(runs / elapsed, p99(lags), latency, missed, site_cpu / runs, worker_cpu / runs)


def report(name: str, f: Figures, kind: str) -> None:
    line(f"{kind} checks/s, {name}", f.rate, "checks/s", TARGETS["checks_per_s"])
    line(f"scheduling lag p99, {name}", f.lag_p99, "s", TARGETS["lag_p99_s"], False)
    if f.latency_p99 is not None:
        line(
            f"due to journaled result p99, {name}", f.latency_p99, "s", TARGETS["lag_p99_s"], False
        )
        info(f"UNKNOWN as no worker took them in time, {name}", f.unanswered, "checks")
    info(f"site CPU per check, {name}", f.site_cpu * 1000, "ms")
    if f.worker_cpu:
        info(f"workers' CPU per check, {name}", f.worker_cpu * 1000, "ms")


def run(
    tmp: Path, name: str, args: argparse.Namespace, make: Callable[[Path], LiveSite], workers: int
) -> Figures:
    site = make(tmp / name)
    populate(site.dir, args.services, args.interval, args.check_config)
    procs: list[WorkerProcess] = []
    site.start(timeout=120)
    try:
        for i in range(workers):
            procs.append(
                WorkerProcess.start(
                    args.nats_url,
                    tmp / f"{name}-worker{i}.log",
                    "default",
                    "lookout",
                    "--concurrency",
                    str(args.concurrency),
                    "--spawners",
                    str(args.spawners),
                    "--log-level",
                    "warning",
                )
            )
        return measure(site, procs, args)
    finally:
        for proc in procs:
            proc.stop()
        site.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--services", type=int, default=16_000)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", default="1,2,4", help="worker processes per run")
    parser.add_argument("--concurrency", type=int, default=64, help="checks per worker")
    parser.add_argument("--spawners", type=int, default=1, help="spawners per worker")
    parser.add_argument("--no-embedded", action="store_true", help="skip the embedded run")
    parser.add_argument(
        "--check", choices=("dummy", "http"), default="dummy", help="check_dummy or built-in http"
    )
    args = parser.parse_args()
    kind = "check_dummy" if args.check == "dummy" else "built-in HTTP"
    args.check_config = None
    if args.check == "http":  # a local server answering 200 (bench/builtin_checks.py's)
        port, _ = start_server(1)
        args.check_config = {"type": "http", "url": f"http://127.0.0.1:{port}/", "timeout": 5}
    if not Path(DUMMY).exists():
        sys.exit(f"{DUMMY} missing: run scripts/test-deps.d/plugins.sh")
    if BINARY is None:
        sys.exit("nats-server missing: run scripts/test-deps.d/nats.sh")
    info(f"demand ({args.services:,} services every {args.interval:g} s)",
         args.services / args.interval, "checks/s")  # fmt: skip
    info("CPUs of this machine", psutil.cpu_count() or 0, "")
    info("load average (1 min) at start", psutil.getloadavg()[0], "")
    with tempfile.TemporaryDirectory(prefix="lookout-bench-workers-") as name:
        tmp = Path(name)
        if not args.no_embedded:
            embedded = run(
                tmp,
                "embedded",
                args,
                lambda d: make_site(
                    d,
                    check_concurrency=args.concurrency,
                    execution={"concurrency": args.concurrency, "spawners": 2},
                ),
                0,
            )
            report("embedded", embedded, kind)
        for count in (int(n) for n in args.workers.split(",")):
            server = single(tmp / f"nats{count}")
            args.nats_url = server.url
            try:
                figures = run(
                    tmp,
                    f"nats{count}",
                    args,
                    functools.partial(nats_site, nats_url=server.url),
                    count,
                )
            finally:
                server.stop()
            report(f"NATS, {count} worker{'s' if count > 1 else ''}", figures, kind)
    info("load average (1 min) at the end", psutil.getloadavg()[0], "")


if __name__ == "__main__":
    main()
