"""The worker-pool path alone: the site's NatsRunner and one Worker in this process, no-op checks.

    .venv/bin/python bench/nats_path.py [--seconds 8] [--in-flight 400] [--concurrency 256]
                                        [--runs 3] [--profile]

Starts a nats-server with JetStream of its own (tests/natsserver.py), a ``NatsRunner`` whose
site is ``tests/livepools.Hooks`` (a journal commit of 2 ms) and a ``Worker`` whose checks do
nothing, and keeps ``--in-flight`` runs going for ``--seconds``. What it shows is what the NATS
path itself costs per check (job publish, fetch, result publish, acknowledgements, both
sides), without plugins, the engine or the database: CPU milliseconds per check of this
process, checks/s and due-to-result p99. CPU per check moves less than checks/s when the
machine is shared; figures on a loaded machine are still lower bounds. ``--profile`` prints
cProfile's top functions of the last run.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from livepools import Hooks
from lookout.checks.active import CheckContext, Outcome
from lookout.checks.active.registry import ActiveCheckConfig
from lookout.checks.active.tcp import TcpParams
from lookout.domain.results import CheckResult
from lookout.sources.active.runner import CheckJob, EmbeddedRunner
from lookout.sources.workers.connection import NatsAccess
from lookout.sources.workers.runner import NatsRunner
from lookout.sources.workers.worker import Worker, WorkerOptions
from natsserver import single


class QuickHooks(Hooks):
    async def apply(self, result: CheckResult) -> None:
        self.last[(result.host, result.service)] = time.time()
        await asyncio.sleep(0.002)  # a journal commit


async def nothing(config: ActiveCheckConfig, address: str, ctx: CheckContext) -> Outcome:
    return Outcome(0, "OK")


async def one_run(url: str, args: argparse.Namespace, profile: cProfile.Profile | None) -> None:
    access = NatsAccess(url)
    runner = NatsRunner(access, "bench", QuickHooks(interval=30))
    await runner.start()
    await runner.wait_ready()
    worker = Worker(access, WorkerOptions("bench", "default", concurrency=args.concurrency))
    worker.runner = EmbeddedRunner(args.concurrency, execute=nothing)
    working = asyncio.create_task(worker.run())
    params = TcpParams(port=1)
    latencies: list[float] = []

    async def keep_going(i: int, until: float) -> None:
        while time.time() < until:
            due = time.time()
            await runner.run(CheckJob(f"host{i}", "svc", params, "127.0.0.1", due))
            latencies.append(time.time() - due)

    try:
        warm = time.time() + 1.0
        await asyncio.gather(*(keep_going(i, warm) for i in range(args.in_flight)))
        latencies.clear()
        if profile is not None:
            profile.enable()
        began, cpu = time.time(), time.process_time()
        until = began + args.seconds
        await asyncio.gather(*(keep_going(i, until) for i in range(args.in_flight)))
        elapsed, cpu = time.time() - began, time.process_time() - cpu
        if profile is not None:
            profile.disable()
    finally:
        worker.stop()
        await working
        await runner.aclose()
    done = len(latencies)
    latencies.sort()
    p99 = latencies[int(done * 0.99)] if done else float("nan")
    per_check = cpu / max(done, 1) * 1000
    print(
        f"[info] checks/s {done / elapsed:8,.0f}   CPU per check {per_check:6.3f} ms"
        f"   due to result p99 {p99:6.3f} s   load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )


def run_loop(coro: Coroutine[None, None, None]) -> None:
    """With uvloop, as ``lookout serve`` and ``lookout worker`` run, where installed."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
    else:
        uvloop.run(coro)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--in-flight", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=256, help="the worker's")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = single(Path(tmp))
        try:
            for run in range(args.runs):
                last = run == args.runs - 1
                profile = cProfile.Profile() if args.profile and last else None
                run_loop(one_run(server.url, args, profile))
                if profile is not None:
                    pstats.Stats(profile).sort_stats("tottime").print_stats(30)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
