"""Worker pool benchmark: check_dummy through NATS JetStream workers against the embedded runner.

    .venv/bin/python bench/workers.py [--services 16000] [--interval 10] [--seconds 15]
                                      [--runs 3] [--workers 1,2,4] [--concurrency 64]
                                      [--spawners 2] [--check dummy|http] [--no-embedded]

``--check http``: built-in HTTP checks against a local server (bench/builtin_checks.py's)
instead of check_dummy.

One run, one machine. For each setup a throwaway SQLite site (as bench/plugins.py makes it:
one command ``$USER1$/check_dummy $ARG1$ $ARG2$``, ``--services`` services, 10 per host,
every ``--interval`` seconds) is started with ``lookout serve``; once every worker is in
the pool and after one interval of warm-up
``--runs`` windows of ``--seconds`` each are measured one after the other (``/metrics`` read
four times a second):

- checks per second (``lookout_checks_run_total``; with workers the results they sent,
  ``lookout_pool_results_total``, as a check no worker takes in time is answered UNKNOWN)
  and the scheduler's lag p99 (how late the oldest due check is), as bench/plugins.py
  measures the embedded runner; the demand (1,600 checks/s) is a little above the target;
- with workers also the latency from a check's due time to its journaled result (the queue
  in NATS and the worker's run included), the figure the target is judged on, from the
  site's histogram ``lookout_pool_latency_seconds``: p99 ≤ 1 s holds exactly when at least
  99 % of a window's results took at most 1 s; and the checks answered UNKNOWN because no
  worker took them in time;
- CPU seconds per check of the site (with its spawner processes), of the workers (with
  their spawners and plugins) and of nats-server.

Each window gets an [info] line; the [ok]/[MISS] lines judge the worst window (the target
says "steadily"), followed by the median and spread.

Setups: the embedded runner (``[execution] spawners = 2``), then ``[execution] runner =
"nats"`` with 1, 2 and 4 ``lookout worker`` processes (``--concurrency`` checks each, plugins
started by ``--spawners`` helper processes each) on a nats-server with JetStream of its own.
Needs Debian's monitoring-plugins and nats-server (scripts/test-deps.d/).
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from builtin_checks import start_server
from plugins import DUMMY, info, line, metric, p99, populate

from livepools import WorkerProcess, nats_site
from livesite import LiveSite, make_site
from natsserver import BINARY, single

NATS_DEFAULTS = {"ack_wait": 10.0, "worker_timeout": 15.0}
TARGETS = {"checks_per_s": 1500.0, "lag_p99_s": 1.0}


@dataclass
class Figures:
    rate: float
    """Checks with a real result per second (for workers: results journaled)."""
    lag_p99: float
    latency_p99: float | None
    """Due to journaled result, 99th percentile, as the upper bound of its histogram bucket."""
    within: float | None
    """Share of results journaled within the target latency (1 s) of their due time."""
    unanswered: float
    """Checks answered UNKNOWN because no worker took them in time."""
    site_cpu: float
    """CPU seconds of the site (its spawners and the plugins they ran included) per check."""
    worker_cpu: float
    nats_cpu: float
    """CPU seconds of nats-server per check."""
    load: float


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


def latency_buckets(text: str) -> list[tuple[float, float]]:
    """(upper bound, cumulative count) of ``lookout_pool_latency_seconds``, pool default."""
    out = []
    for row in text.splitlines():
        if row.startswith("lookout_pool_latency_seconds_bucket{") and 'pool="default"' in row:
            le = row.split('le="', 1)[1].split('"', 1)[0]
            out.append((float(le), float(row.rsplit(" ", 1)[1])))
    return sorted(out)


def latency(before: str, after: str) -> tuple[float | None, float | None]:
    """p99 (the bucket bound it falls under) and the share within the target, between two
    reads of /metrics."""
    b0, b1 = dict(latency_buckets(before)), latency_buckets(after)
    counts = [(le, n - b0.get(le, 0.0)) for le, n in b1]
    if not counts or counts[-1][1] <= 0:
        return None, None
    total = counts[-1][1]
    p99 = next(le for le, n in counts if n >= 0.99 * total)
    within = next((n for le, n in counts if le >= TARGETS["lag_p99_s"]), total) / total
    return p99, within


def measure(
    site: LiveSite, workers: list[WorkerProcess], nats: list[int], args: argparse.Namespace
) -> list[Figures]:
    """``--runs`` windows of ``--seconds`` one after the other, after one interval of warm-up."""
    assert site.proc is not None
    site_pids, worker_pids = [site.proc.pid], [w.pid for w in workers]
    # a check that no worker took in time is run too, as UNKNOWN: count the workers' results
    done = "lookout_pool_results_total" if workers else "lookout_checks_run_total"
    out = []
    with site.client() as client:
        if workers:  # a loaded machine starts a worker process in seconds: wait for all
            wait_for_workers(client, len(workers))
        time.sleep(args.interval)  # first runs are spread over one interval
        for _ in range(args.runs):
            lags: list[float] = []
            first = client.get("/metrics").text
            t0, runs0 = time.perf_counter(), metric(first, done)
            missed0 = metric(first, "lookout_pool_no_worker_total") if workers else 0.0
            site0, workers0, nats0 = cpu(site_pids), cpu(worker_pids), cpu(nats)
            while time.perf_counter() - t0 < args.seconds:
                time.sleep(0.25)
                lags.append(metric(client.get("/metrics").text, "lookout_scheduler_lag_seconds"))
            last = client.get("/metrics").text
            elapsed = time.perf_counter() - t0
            runs = max(metric(last, done) - runs0, 1.0)
            missed = metric(last, "lookout_pool_no_worker_total") - missed0 if workers else 0.0
            site_cpu, worker_cpu = cpu(site_pids) - site0, cpu(worker_pids) - workers0
            p99_latency, within = latency(first, last) if workers else (None, None)
            out.append(
                Figures(
                    runs / elapsed,
                    p99(lags),
                    p99_latency,
                    within,
                    missed,
                    site_cpu / runs,
                    worker_cpu / runs,
                    (cpu(nats) - nats0) / runs,
                    psutil.getloadavg()[0],
                )
            )
    return out


def wait_for_workers(client: httpx.Client, count: int, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        pools = client.get("/api/v1/pools").json()["pools"]
        if sum(len(p["workers"]) for p in pools) >= count:
            return
        time.sleep(0.5)
    sys.exit(f"fewer than {count} workers in the pool after {within:g} s")


def report(name: str, runs: list[Figures], kind: str) -> None:
    """One [info] line per window, then [ok]/[MISS] on the worst window (steadily means every
    window), and the median and spread of the CPU figures."""
    for i, f in enumerate(runs, 1):
        shown = f"{f.rate:,.0f} checks/s, lag p99 {f.lag_p99:.2f} s"
        if f.latency_p99 is not None and f.within is not None:
            shown += f", due-to-result p99 ≤ {f.latency_p99:g} s ({f.within:.1%} within 1 s)"
        print(f"[info] {name}, window {i}/{len(runs)}: {shown}, load {f.load:.1f}", flush=True)
    n = f"worst of {len(runs)}" if len(runs) > 1 else "one window"
    line(f"{kind} checks/s, {name}, {n}", min(f.rate for f in runs), "checks/s",
         TARGETS["checks_per_s"])  # fmt: skip
    line(f"scheduling lag p99, {name}, {n}", max(f.lag_p99 for f in runs), "s",
         TARGETS["lag_p99_s"], False)  # fmt: skip
    shares = [f.within for f in runs if f.within is not None]
    if shares:  # p99 ≤ 1 s exactly when 99 % of the results took at most 1 s
        line(f"results within 1 s of due, {name}, {n}", min(shares) * 100, "%", 99.0)
        info(f"UNKNOWN as no worker took them in time, {name}",
             sum(f.unanswered for f in runs), "checks")  # fmt: skip
    rates = [f.rate for f in runs]
    info(f"checks/s median (spread {min(rates):,.0f}–{max(rates):,.0f}), {name}",
         statistics.median(rates), "checks/s")  # fmt: skip
    info(f"site CPU per check, {name}", statistics.median(f.site_cpu for f in runs) * 1000, "ms")
    if any(f.worker_cpu for f in runs):
        info(f"workers' CPU per check, {name}",
             statistics.median(f.worker_cpu for f in runs) * 1000, "ms")  # fmt: skip
        info(f"nats-server CPU per check, {name}",
             statistics.median(f.nats_cpu for f in runs) * 1000, "ms")  # fmt: skip


def run(
    tmp: Path,
    name: str,
    args: argparse.Namespace,
    make: Callable[[Path], LiveSite],
    workers: int,
    nats: list[int],
) -> list[Figures]:
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
        return measure(site, procs, nats, args)
    finally:
        for proc in procs:
            proc.stop()
        site.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--services", type=int, default=16_000)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=15.0, help="seconds per window")
    parser.add_argument("--runs", type=int, default=3, help="windows measured per setup")
    parser.add_argument("--workers", default="1,2,4", help="worker processes per run")
    parser.add_argument("--concurrency", type=int, default=64, help="checks per worker")
    parser.add_argument(
        "--spawners", type=int, default=2, help="spawners per worker (starts wait side by side)"
    )
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
                [],
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
                    # the product's ack wait and worker timeout, not the tests' short ones
                    functools.partial(nats_site, nats_url=server.url, nats=NATS_DEFAULTS),
                    count,
                    [server.proc.pid] if server.proc is not None else [],
                )
            finally:
                server.stop()
            report(f"NATS, {count} worker{'s' if count > 1 else ''}", figures, kind)
    info("load average (1 min) at the end", psutil.getloadavg()[0], "")


if __name__ == "__main__":
    main()
