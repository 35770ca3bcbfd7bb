"""The TLS fronts of the agent receiver: processes that terminate TLS and HTTP for pushes and
hand each request to the site over their own socket pair (``ipc.py``).

Why processes: one push costs the site ~0.6 ms of Python, and a new mutual-TLS connection
~1.2 ms more, all on one event loop. Fronts take the handshakes and the HTTP work to other cores;
the site keeps every decision (identity, revocation, rate limits, checks, the journal), so a
front holds no state and can die and be restarted at any time.

The site starts one process for all its fronts; it builds the TLS context and forks the fronts
from it (``frontgroup.py``), one per ``--ipc-fd``, so that they share its session-ticket keys.

    python -m lookout.sources.agent_receiver.front --listen-fd N --control-fd C
        --ipc-fd M1 --ipc-fd M2 --site-dir D ...
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import os
import signal
import socket
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from OpenSSL import SSL

from lookout.sources.agent_receiver.ca import SiteCA
from lookout.sources.agent_receiver.frontgroup import FrontGroup
from lookout.sources.agent_receiver.http import Server
from lookout.sources.agent_receiver.ipc import FrontLink, Hello, frame

log = logging.getLogger("lookout.agent_receiver.front")

STOP_GRACE = 5.0
STATS_INTERVAL = 2.0
EVALUATE_MODULES = (
    "lookout.sources.agent_receiver.pushes",
    "lookout.sources.agent_receiver.evaluate",
    "lookout.checks.agent.registry",
    "lookout.checks.agent.api",
)
"""What a front that evaluates pushes imports (``ipc.FrontLink``)."""


async def serve(ctx: SSL.Context, listen_fd: int, ipc_fd: int, opts: argparse.Namespace) -> int:
    """Serve as one front (in a process forked by the group) until the site goes or says stop."""
    ipc = socket.socket(fileno=ipc_fd)
    reader, writer = await asyncio.open_connection(sock=ipc)
    link = FrontLink(reader, writer, evaluate=opts.evaluate_pushes)
    listener = socket.socket(fileno=listen_fd)
    try:
        server = Server(link.forward, ctx, opts.max_body)
        await server.start_on(listener)
    except Exception as exc:  # reported to the site, which shows it in the receiver status
        link.hello(os.getpid(), f"{type(exc).__name__}: {exc}")
        await writer.drain()
        return 1
    link.hello(os.getpid())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    reading = asyncio.create_task(link.run())
    closed = asyncio.create_task(link.closed.wait())
    stopping = asyncio.create_task(stop.wait())
    reporting = asyncio.create_task(report(link, server))
    await asyncio.wait({closed, stopping}, return_when=asyncio.FIRST_COMPLETED)
    reporting.cancel()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(STOP_GRACE):
            await server.stop()
    for task in (reading, closed, stopping):
        task.cancel()
    writer.close()
    return 0


async def report(link: FrontLink, server: Server) -> None:
    """Send the front's counters to the site when they change."""
    sent = 0
    while True:
        await asyncio.sleep(STATS_INTERVAL)
        if server.handshake_failures != sent:
            sent = server.handshake_failures
            link.stats(sent)


def refuse(ipc_fds: list[int], error: str) -> int:
    """Tell the site on every front's link why no front could start."""
    for fd in ipc_fds:
        with socket.socket(fileno=fd) as s, contextlib.suppress(OSError):
            s.sendall(frame(Hello(os.getpid(), error)))
    return 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="lookout-receiver-front")
    ap.add_argument("--listen-fd", type=int, required=True)
    ap.add_argument("--control-fd", type=int, required=True)
    ap.add_argument("--ipc-fd", type=int, action="append", required=True, help="one per front")
    ap.add_argument("--site-dir", required=True, help="the site CA's directory")
    ap.add_argument("--site-name", required=True)
    ap.add_argument("--hostname", action="append", default=[])
    ap.add_argument("--max-body", type=int, required=True)
    ap.add_argument("--evaluate-pushes", action="store_true", help="run pushes' checks here")
    opts = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s front %(process)d %(message)s")
    try:
        ctx = SiteCA.ensure(Path(opts.site_dir), opts.site_name).server_context(opts.hostname)
    except Exception as exc:  # reported to the site, which shows it in the receiver status
        return refuse(opts.ipc_fd, f"{type(exc).__name__}: {exc}")
    if opts.evaluate_pushes:  # loaded once here, not in each front that is forked
        for name in EVALUATE_MODULES:
            importlib.import_module(name)
    run: Callable[[Coroutine[Any, Any, int]], int]
    try:
        import uvloop

        run = uvloop.run
    except ImportError:  # uvloop comes with uvicorn[standard]; plain asyncio works too
        run = asyncio.run

    def front(ctx: SSL.Context, listen_fd: int, ipc_fd: int) -> int:
        return run(serve(ctx, listen_fd, ipc_fd, opts))

    control = socket.socket(fileno=opts.control_fd)
    return FrontGroup(ctx, opts.listen_fd, control, front).run(opts.ipc_fd)


if __name__ == "__main__":
    raise SystemExit(main())
