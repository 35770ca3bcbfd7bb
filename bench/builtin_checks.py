"""Built-in HTTP checks against a local server: ≥ 3,000 checks/s with latency p99 ≤ 1 s.

    .venv/bin/python bench/builtin_checks.py [--rate 3000] [--seconds 10] [--concurrency 200]
                                             [--keep-alive]

Starts a small HTTP server (``--server-procs`` processes sharing the port with SO_REUSEPORT,
each answering ``200 OK`` and closing) and drives the ``EmbeddedRunner`` with real ``http``
checks, each on a fresh connection (as for many hosts, each checked now and then); with
``--keep-alive`` the server keeps connections open and the checks reuse them (as for many
services on one web server):

- open loop: jobs are due at ``--rate`` per second; latency is from a job's due time to its
  result (so queueing in the runner counts), and the rate is what the runner kept up with;
- closed loop: ``--concurrency`` jobs always in flight, to show the most this process does.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import statistics
import time

from lookout.checks.active.http import HttpParams
from lookout.sources.active.runner import CheckJob, EmbeddedRunner

TARGETS = {"rate": 3000.0, "p99_s": 1.0}
TICK = 0.005
"""Seconds between the open loop's wake-ups (as the scheduler, not one wake-up per job)."""
ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
    b"Connection: close\r\n\r\nok\n"
)
KEPT_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n"


def line(name: str, value: float, unit: str, target: float, higher_is_better: bool = True) -> None:
    ok = value >= target if higher_is_better else value <= target
    mark = "ok " if ok else "MISS"
    cmp = "≥" if higher_is_better else "≤"
    print(f"[{mark}] {name:<46} {value:>12,.3f} {unit:<10} (target {cmp} {target:,})", flush=True)


def info(name: str, value: float, unit: str) -> None:
    print(f"[info] {name:<46} {value:>12,.3f} {unit}", flush=True)


# ---------------------------------------------------------------- the server
class _Answer(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if b"\r\n\r\n" in data:
            self.transport.write(ANSWER)  # type: ignore[attr-defined]
            self.transport.close()


class _KeptAnswer(asyncio.Protocol):
    """Answers every request on a connection and keeps it open (requests are GETs)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.pending = b""

    def data_received(self, data: bytes) -> None:
        self.pending += data
        count = self.pending.count(b"\r\n\r\n")
        if count:
            self.pending = self.pending.rsplit(b"\r\n\r\n", 1)[1]
            self.transport.write(KEPT_ANSWER * count)  # type: ignore[attr-defined]


def _serve(port: int, keep_alive: bool = False) -> None:
    async def main() -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(4096)
        protocol = _KeptAnswer if keep_alive else _Answer
        server = await asyncio.get_running_loop().create_server(protocol, sock=sock, backlog=4096)
        await server.serve_forever()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(procs: int, keep_alive: bool = False) -> tuple[int, list[multiprocessing.Process]]:
    port = _free_port()
    workers = [
        multiprocessing.Process(target=_serve, args=(port, keep_alive), daemon=True)
        for _ in range(procs)
    ]
    for worker in workers:
        worker.start()
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return port, workers
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the benchmark server did not start")


# ---------------------------------------------------------------- the drivers
def _job(i: int, params: HttpParams, due: float) -> CheckJob:
    return CheckJob(f"host{i % 1000:04d}", "HTTP", params, "127.0.0.1", due)


async def open_loop(
    runner: EmbeddedRunner, params: HttpParams, rate: float, seconds: float
) -> tuple[float, list[float], int]:
    """Jobs due at ``rate``/s for ``seconds``; returns (checks done per second, latencies,
    checks not OK). Jobs not done ``seconds`` after the last one was due are cancelled and
    count with the latency they had reached (a lower bound)."""
    latencies: list[float] = []
    failures = 0
    tasks: dict[asyncio.Task[None], float] = {}

    async def one(i: int, due: float) -> None:
        nonlocal failures
        result = await runner.run(_job(i, params, due))
        latencies.append(time.time() - due)
        failures += result.state != 0

    start = time.time()
    total = int(rate * seconds)
    i = 0
    while i < total:  # wake every TICK and start what came due, as the scheduler does
        now = time.time()
        while i < total and start + i / rate <= now:
            due = start + i / rate
            task = asyncio.create_task(one(i, due))
            tasks[task] = due
            task.add_done_callback(lambda t: tasks.pop(t, None))
            i += 1
        await asyncio.sleep(TICK)
    if tasks:
        await asyncio.wait(list(tasks), timeout=seconds)
    done = len(latencies)
    elapsed = time.time() - start
    for task, due in list(tasks.items()):
        task.cancel()
        latencies.append(time.time() - due)
    return done / elapsed, latencies, failures


async def closed_loop(
    runner: EmbeddedRunner, params: HttpParams, concurrency: int, seconds: float
) -> tuple[float, list[float]]:
    """``concurrency`` jobs in flight for ``seconds``; returns (rate, check durations)."""
    durations: list[float] = []
    stop = time.time() + seconds
    cpu = time.process_time()

    async def worker(w: int) -> None:
        i = w
        while time.time() < stop:
            begun = time.time()
            await runner.run(_job(i, params, begun))
            durations.append(time.time() - begun)
            i += concurrency

    start = time.time()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    info(
        "closed loop: CPU per check (this process)",
        (time.process_time() - cpu) / len(durations) * 1000,
        "ms",
    )
    return len(durations) / (time.time() - start), durations


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) > 1 else float("nan")


async def bench(args: argparse.Namespace, port: int) -> None:
    params = HttpParams(url=f"http://127.0.0.1:{port}/health", timeout=5)
    runner = EmbeddedRunner(concurrency=args.concurrency)
    try:
        await open_loop(runner, params, args.rate, 1.0)  # warm up
        rate, latencies, failures = await open_loop(runner, params, args.rate, args.seconds)
        line(f"open loop at {args.rate:,.0f}/s: checks/s done", rate, "checks/s", TARGETS["rate"])
        line("open loop: latency p99 (due → result)", p99(latencies), "s", TARGETS["p99_s"], False)
        info("open loop: latency median", statistics.median(latencies), "s")
        info("open loop: checks not OK", failures, "checks")
        most, durations = await closed_loop(runner, params, args.concurrency, args.seconds / 2)
        info(f"closed loop, {args.concurrency} in flight: checks/s", most, "checks/s")
        info("closed loop: check duration p99", p99(durations), "s")
    finally:
        await runner.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=TARGETS["rate"], help="jobs due per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the open loop")
    parser.add_argument("--concurrency", type=int, default=200, help="runner concurrency")
    parser.add_argument("--server-procs", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    parser.add_argument(
        "--keep-alive", action="store_true", help="the server keeps connections; checks reuse them"
    )
    args = parser.parse_args()
    port, workers = start_server(args.server_procs, args.keep_alive)
    mode = "keeps connections" if args.keep_alive else "closes each connection"
    print(f"server: {args.server_procs} process(es) on 127.0.0.1:{port}, {mode}; ", end="")
    print(f"cpus: {os.cpu_count()}; load average: {os.getloadavg()[0]:.2f}")
    try:
        try:
            import uvloop

            uvloop.run(bench(args, port))
        except ImportError:
            asyncio.run(bench(args, port))
    finally:
        for worker in workers:
            worker.terminate()


if __name__ == "__main__":
    main()
