"""An ingest front: a process that accepts connections on the site's API port, serves
``POST /api/v1/results`` itself up to the engine, and hands every other connection to the site.

For a results request the front reads the body, asks the site whether the caller may submit
(:class:`~lookout.web.fronts.ipc.Gate`; a yes is remembered for the ``ttl`` the site gives, so
a revoked token is refused within that bound), decodes and validates it with the site's own
definitions (``ingest_items.prepare``, perfdata included) and sends the prepared batch to the
site, whose engine checks it against live state, applies and journals it, and answers only after
the journal commit. The front holds no state: it can die and be restarted at any time.

Any other request — another path or method, HTTP/1.0, a chunked or oversized body, ``Expect`` —
ends the front's part: the connection's descriptor and the bytes read so far go to the site
(``ipc.send_connection``), whose uvicorn serves it from then on as if it had accepted it.

    python -m lookout.web.fronts.front --listen-fd N --ipc-fd M --pass-fd P --max-body B
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import os
import signal
import socket
import time
from email.utils import formatdate
from http import HTTPStatus
from typing import cast

import msgspec

from lookout.sources.agent_receiver.ipc import frame, read_frame
from lookout.web.api.ingest_items import Prepared, prepare
from lookout.web.fronts.ipc import (
    Answer,
    Batch,
    Gate,
    Hello,
    send_connection,
    to_front,
)

log = logging.getLogger("lookout.web.fronts.front")

RESULTS = b"/api/v1/results"
MAX_HEAD = 16 * 1024
MAX_GATES = 10_000
"""Remembered (token, address) verdicts; more: start over."""
STOP_GRACE = 5.0
REQUEST_TIMEOUT = 30.0
"""Seconds a client may pause while sending a request (each chunk that arrives restarts it)."""
MAX_REFUSING = 0.25
"""Seconds a front answers the site's last overload 503 itself, without decoding or asking
(at most its Retry-After): overload is answered at once, and the site is asked again soon."""
GONE = Answer(
    0,
    503,
    msgspec.json.encode(
        {
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "the site is restarting: nothing was taken; retry",
        }
    ),
    [("content-type", "application/problem+json"), ("retry-after", "1")],
)
FAILED = Answer(
    0,
    500,
    msgspec.json.encode(
        {
            "type": "about:blank",
            "title": "Internal Server Error",
            "status": 500,
            "detail": "internal error (logged on the site)",
        }
    ),
    [("content-type", "application/problem+json")],
)
PHRASES = {s.value: s.phrase.encode() for s in HTTPStatus}


class Link:
    """The front's side of the site link: send a request, wait for its answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Answer]] = {}
        self._ids_out: list[int] = []
        self._out: list[Prepared] = []
        self.closed = asyncio.Event()

    async def run(self) -> None:
        """Read answers until the site goes away (then ``closed`` is set)."""
        try:
            while (data := await read_frame(self.reader)) is not None:
                ans = to_front.decode(data)
                fut = self._waiting.pop(ans.id, None)
                if fut is not None and not fut.done():
                    fut.set_result(ans)
        except (ConnectionError, msgspec.DecodeError, asyncio.IncompleteReadError) as exc:
            log.error("ingest front: link to the site broken: %s", exc)
        finally:
            self.closed.set()
            for fut in self._waiting.values():
                if not fut.done():
                    fut.set_result(GONE)
            self._waiting.clear()

    async def gate(self, msg: Gate) -> Answer:
        if self.closed.is_set():
            return GONE
        msg.id = next(self._ids)
        fut: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting[msg.id] = fut
        self.writer.write(frame(msg))
        try:
            return await fut
        finally:
            self._waiting.pop(msg.id, None)

    async def submit(self, prepared: Prepared) -> Answer:
        """Send a prepared body to the site with the others that arrive in this turn of the
        loop (one frame, one engine input and one journal row for all), and wait for its
        answer."""
        if self.closed.is_set():
            return GONE
        rid = next(self._ids)
        fut: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting[rid] = fut
        if not self._ids_out:
            asyncio.get_running_loop().call_soon(self._flush)
        self._ids_out.append(rid)
        self._out.append(prepared)
        try:
            return await fut
        finally:
            self._waiting.pop(rid, None)

    def _flush(self) -> None:
        ids, self._ids_out = self._ids_out, []
        bodies, self._out = self._out, []
        if not self.closed.is_set():
            self.writer.write(frame(Batch(ids, bodies)))


class Front:
    """What the connections share: the site link, the hand-over channel, remembered gates."""

    def __init__(self, link: Link, channel: socket.socket, max_body: int, idle: float) -> None:
        self.link = link
        self.channel = channel
        self.max_body = max_body
        self.idle = idle
        self.gates: dict[tuple[str, str, str | None], float] = {}
        self.connections: set[Connection] = set()
        self.in_flight = 0
        self.quiet = asyncio.Event()
        self.quiet.set()
        self.refusal = GONE
        self.refusing_until = 0.0
        self._date = b""
        self._date_at = 0

    async def results(
        self, authorization: str, peer: str, forwarded_for: str | None, body: bytes
    ) -> Answer:
        key = (authorization, peer, forwarded_for)
        now = time.monotonic()
        if self.gates.get(key, 0.0) <= now:
            ans = await self.link.gate(Gate(0, authorization, peer, forwarded_for))
            if ans.status:
                return ans
            if len(self.gates) >= MAX_GATES:
                self.gates.clear()
            self.gates[key] = now + ans.ttl
        if now < self.refusing_until:  # the site said it is overloaded: no need to decode
            return self.refusal
        ans = await self.link.submit(prepare(body))
        if ans.status == 503:
            wait = next((float(v) for k, v in ans.headers if k == "retry-after"), 0.0)
            self.refusal = ans
            self.refusing_until = time.monotonic() + min(wait, MAX_REFUSING)
        return ans

    def date(self) -> bytes:
        now = int(time.time())
        if now != self._date_at:
            self._date_at = now
            self._date = formatdate(now, usegmt=True).encode()
        return self._date


class Connection(asyncio.Protocol):
    """One client connection: results requests in order, or hand it to the site."""

    def __init__(self, front: Front) -> None:
        self.front = front
        self.buf = bytearray()
        self.busy = False
        self.done = False
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        peer = self.transport.get_extra_info("peername")
        self.peer = peer[0] if isinstance(peer, tuple) else ""
        self.front.connections.add(self)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self.done = True
        self.front.connections.discard(self)
        if self.timer is not None:
            self.timer.cancel()

    def data_received(self, data: bytes) -> None:
        if self.done:
            return
        self.buf += data
        if not self.busy:
            self._next()
            if not self.busy and not self.done:  # a request under way: it may take its time
                self._arm(REQUEST_TIMEOUT)

    def _arm(self, seconds: float | None = None) -> None:
        """Close the connection after ``seconds`` without a complete request (by default
        the keep-alive time between requests)."""
        if self.timer is not None:
            self.timer.cancel()
        loop = asyncio.get_running_loop()
        self.timer = loop.call_later(seconds or self.front.idle, self._idle)

    def _idle(self) -> None:
        if not self.busy and not self.done and self.transport is not None:
            self.done = True
            self.transport.close()

    def _next(self) -> None:
        buf = self.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEAD:
                self._hand_over()
            return
        lines = bytes(buf[:end]).split(b"\r\n")
        parts = lines[0].split(b" ")
        if (
            len(parts) != 3
            or parts[0] != b"POST"
            or parts[2] != b"HTTP/1.1"
            or parts[1].partition(b"?")[0] != RESULTS
        ):
            self._hand_over()
            return
        length = -1
        authorization = ""
        forwarded: str | None = None
        close = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                value = value.strip()
                if length >= 0 or not value.isdigit():
                    self._hand_over()  # the site's parser says what is wrong with it
                    return
                length = int(value)
            elif name == b"authorization":
                authorization = value.strip().decode("latin-1")
            elif name == b"connection":
                close = b"close" in value.lower()
            elif name == b"x-forwarded-for":
                forwarded = value.strip().decode("latin-1")
            elif name in (b"transfer-encoding", b"expect", b"upgrade"):
                self._hand_over()
                return
        if length < 0 or length > self.front.max_body:
            self._hand_over()
            return
        start = end + 4
        if len(buf) < start + length:
            return  # the rest of the body is on its way
        body = bytes(buf[start : start + length])
        del buf[: start + length]
        self.busy = True
        self.front.in_flight += 1
        self.front.quiet.clear()
        assert self.transport is not None
        self.transport.pause_reading()
        if self.timer is not None:
            self.timer.cancel()
        task = asyncio.ensure_future(self.front.results(authorization, self.peer, forwarded, body))
        task.add_done_callback(lambda t: self._answer(t, close))

    def _answer(self, task: asyncio.Future[Answer], close: bool) -> None:
        if task.cancelled():
            ans = GONE
        elif (exc := task.exception()) is not None:
            log.error("ingest front: a request failed", exc_info=exc)
            ans = FAILED
            close = True
        else:
            ans = task.result()
        self.busy = False
        self.front.in_flight -= 1
        if not self.front.in_flight:
            self.front.quiet.set()
        if self.done or self.transport is None:
            return
        head = [
            b"HTTP/1.1 %d %s" % (ans.status, PHRASES.get(ans.status, b"")),
            b"date: " + self.front.date(),
            b"content-length: %d" % len(ans.body),
        ]
        head += [f"{k}: {v}".encode("latin-1") for k, v in ans.headers]
        if close:
            head.append(b"connection: close")
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + ans.body)
        if close:
            self.done = True
            self.transport.close()
            return
        self.transport.resume_reading()
        self._arm()
        if self.buf:
            self._next()
            if not self.busy and not self.done:
                self._arm(REQUEST_TIMEOUT)

    def _hand_over(self) -> None:
        """The site serves this connection from here on (descriptor and bytes read so far)."""
        assert self.transport is not None
        self.done = True
        sock = self.transport.get_extra_info("socket")
        try:
            send_connection(self.front.channel, sock.fileno(), bytes(self.buf))
        except OSError as exc:
            log.error("ingest front: could not hand a connection to the site: %s", exc)
        self.transport.close()  # our copy of the descriptor; the site holds its own


async def serve(opts: argparse.Namespace) -> int:
    ipc = socket.socket(fileno=opts.ipc_fd)
    reader, writer = await asyncio.open_connection(sock=ipc, limit=2**20)
    link = Link(reader, writer)
    channel = socket.socket(fileno=opts.pass_fd)
    channel.settimeout(10.0)  # the site reads at once; a stuck site must not stop us forever
    front = Front(link, channel, opts.max_body, opts.idle)
    listener = socket.socket(fileno=opts.listen_fd)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(front), sock=listener)
    writer.write(frame(Hello(os.getpid())))
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    reading = asyncio.create_task(link.run())
    closed = asyncio.create_task(link.closed.wait())
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({closed, stopping}, return_when=asyncio.FIRST_COMPLETED)
    server.close()  # no new connections; the ones in flight get their answers
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(STOP_GRACE):
            await front.quiet.wait()  # a broken link answers what waits on it (503)
    for conn in list(front.connections):
        if conn.transport is not None:
            conn.transport.close()
    for task in (reading, closed, stopping):
        task.cancel()
    writer.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="lookout-ingest-front")
    ap.add_argument("--listen-fd", type=int, required=True)
    ap.add_argument("--ipc-fd", type=int, required=True)
    ap.add_argument("--pass-fd", type=int, required=True)
    ap.add_argument("--max-body", type=int, required=True)
    ap.add_argument("--idle", type=float, default=5.0)
    opts = ap.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s ingest front %(process)d %(message)s"
    )
    try:
        import uvloop

        return uvloop.run(serve(opts))
    except ImportError:  # uvloop comes with uvicorn[standard]; plain asyncio works too
        return asyncio.run(serve(opts))


if __name__ == "__main__":
    raise SystemExit(main())
