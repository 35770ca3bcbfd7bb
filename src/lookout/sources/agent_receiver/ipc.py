"""Requests between the receiver's TLS front processes and the site (one socket pair each).

A front terminates TLS and HTTP; the site decides. Each request travels as one frame — a 4-byte
big-endian length and a msgpack body — tagged with an id, so one connection carries many
requests at once and answers may come back in any order. The frames of one turn of the event
loop leave in one write (answers released by one journal commit come together). The socket pair
is created by the site and inherited by the front: nothing else can connect to it, so the peer
certificate a front reports is trusted as the TLS layer verified it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import struct

import msgspec

from lookout.sources.agent_receiver.http import Handler, Request, Response, problem

log = logging.getLogger(__name__)

HEADER = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024


class RequestFrame(msgspec.Struct, array_like=True, tag="req"):
    id: int
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    peer_cert: bytes | None
    peer: str


class ResponseFrame(msgspec.Struct, array_like=True):
    id: int
    status: int
    body: bytes
    content_type: bytes
    headers: list[tuple[str, str]]


class Hello(msgspec.Struct, array_like=True, tag="hello"):
    """The front's first frame: it is listening (or why it is not)."""

    pid: int
    error: str | None = None


class FrontStats(msgspec.Struct, array_like=True, tag="stats"):
    """What a front counts, sent every few seconds (the site shows the sum)."""

    handshake_failures: int


_encoder = msgspec.msgpack.Encoder()
_request_decoder = msgspec.msgpack.Decoder(RequestFrame | Hello | FrontStats)
_response_decoder = msgspec.msgpack.Decoder(ResponseFrame)


def frame(msg: msgspec.Struct) -> bytes:
    body = _encoder.encode(msg)
    return HEADER.pack(len(body)) + body


async def read_frame(reader: asyncio.StreamReader) -> bytes | None:
    """The next frame's body, or None at a clean end of stream."""
    try:
        head = await reader.readexactly(HEADER.size)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise ConnectionError("connection closed inside a frame header") from None
        return None
    (size,) = HEADER.unpack(head)
    if size > MAX_FRAME:
        raise ConnectionError(f"frame of {size} bytes over the limit of {MAX_FRAME}")
    return await reader.readexactly(size)


class Outbox:
    """Frames written in one turn of the loop, sent in one write at its end."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self._frames: list[bytes] = []

    def send(self, msg: msgspec.Struct) -> None:
        if not self._frames:
            asyncio.get_running_loop().call_soon(self._flush)
        self._frames.append(frame(msg))

    def _flush(self) -> None:
        frames, self._frames = self._frames, []
        if not self.writer.is_closing():
            self.writer.write(b"".join(frames))


class FrontLink:
    """The front's side: forward a request to the site and wait for its answer."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Response]] = {}
        self._out = Outbox(writer)
        self.closed = asyncio.Event()

    def hello(self, pid: int, error: str | None = None) -> None:
        self.writer.write(frame(Hello(pid, error)))

    def stats(self, handshake_failures: int) -> None:
        if not self.closed.is_set():
            self.writer.write(frame(FrontStats(handshake_failures)))

    async def run(self) -> None:
        """Read answers until the site goes away (then ``closed`` is set)."""
        try:
            while (data := await read_frame(self.reader)) is not None:
                ans = _response_decoder.decode(data)
                fut = self._waiting.pop(ans.id, None)
                if fut is not None and not fut.done():
                    fut.set_result(Response(ans.status, ans.body, ans.content_type, ans.headers))
        except (ConnectionError, msgspec.DecodeError, asyncio.IncompleteReadError) as exc:
            log.error("agent receiver front: link to the site broken: %s", exc)
        finally:
            self.closed.set()
            for fut in self._waiting.values():
                if not fut.done():
                    fut.set_result(problem(503, "the site is restarting; push again"))
            self._waiting.clear()

    async def forward(self, req: Request) -> Response:
        if self.closed.is_set():
            return problem(503, "the site is restarting; push again")
        rid = next(self._ids)
        fut: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._waiting[rid] = fut
        self._out.send(
            RequestFrame(rid, req.method, req.path, req.headers, req.body, req.peer_cert, req.peer)
        )
        try:
            return await fut
        finally:
            self._waiting.pop(rid, None)


class SiteLink:
    """The site's side of one front: answer its requests with ``handler``."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: Handler
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.handler = handler
        self.hello: asyncio.Future[Hello] = asyncio.get_running_loop().create_future()
        self.stats = FrontStats(0)
        self._out = Outbox(writer)
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Serve until the front closes its end."""
        try:
            while (data := await read_frame(self.reader)) is not None:
                msg = _request_decoder.decode(data)
                if isinstance(msg, Hello):
                    if not self.hello.done():
                        self.hello.set_result(msg)
                    continue
                if isinstance(msg, FrontStats):
                    self.stats = msg
                    continue
                task = asyncio.create_task(self._answer(msg))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        except (ConnectionError, msgspec.DecodeError, asyncio.IncompleteReadError) as exc:
            log.error("agent receiver: link to a front broken: %s", exc)
        finally:
            if not self.hello.done():
                self.hello.set_exception(ConnectionError("the front closed before it was ready"))
            with contextlib.suppress(Exception):
                self.writer.close()

    async def _answer(self, msg: RequestFrame) -> None:
        req = Request(msg.method, msg.path, msg.headers, msg.body, msg.peer_cert, msg.peer)
        try:
            resp = await self.handler(req)
        except Exception:
            log.exception("agent receiver: %s %s failed", msg.method, msg.path)
            resp = problem(500, "internal error (logged on the site)")
        if self.writer.is_closing():
            return
        self._out.send(
            ResponseFrame(msg.id, resp.status, resp.body, resp.content_type, resp.headers)
        )

    async def drain(self) -> None:
        """Wait for the answers still being worked on (at a stop)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
