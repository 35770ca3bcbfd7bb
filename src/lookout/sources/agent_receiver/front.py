"""A TLS front of the agent receiver: a process that terminates TLS and HTTP for pushes and
hands each request to the site over its inherited socket pair (``ipc.py``).

Why processes: one push costs the site ~0.6 ms of Python, and a new mutual-TLS connection
~1.2 ms more, all on one event loop. Fronts take the handshakes and the HTTP work to other cores;
the site keeps every decision (identity, revocation, rate limits, checks, the journal), so a
front holds no state and can die and be restarted at any time.

    python -m lookout.sources.agent_receiver.front --listen-fd N --ipc-fd M --site-dir D ...
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
from pathlib import Path

from lookout.sources.agent_receiver.ca import SiteCA
from lookout.sources.agent_receiver.http import Server
from lookout.sources.agent_receiver.ipc import FrontLink

log = logging.getLogger("lookout.agent_receiver.front")

STOP_GRACE = 5.0
STATS_INTERVAL = 2.0


async def serve(opts: argparse.Namespace) -> int:
    ipc = socket.socket(fileno=opts.ipc_fd)
    reader, writer = await asyncio.open_connection(sock=ipc)
    link = FrontLink(reader, writer, evaluate=opts.evaluate_pushes)
    listener = socket.socket(fileno=opts.listen_fd)
    try:
        ctx = SiteCA.ensure(Path(opts.site_dir), opts.site_name).server_context(opts.hostname)
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="lookout-receiver-front")
    ap.add_argument("--listen-fd", type=int, required=True)
    ap.add_argument("--ipc-fd", type=int, required=True)
    ap.add_argument("--site-dir", required=True, help="the site CA's directory")
    ap.add_argument("--site-name", required=True)
    ap.add_argument("--hostname", action="append", default=[])
    ap.add_argument("--max-body", type=int, required=True)
    ap.add_argument("--evaluate-pushes", action="store_true", help="run pushes' checks here")
    opts = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s front %(process)d %(message)s")
    try:
        import uvloop

        return uvloop.run(serve(opts))
    except ImportError:  # uvloop comes with uvicorn[standard]; plain asyncio works too
        return asyncio.run(serve(opts))


if __name__ == "__main__":
    raise SystemExit(main())
