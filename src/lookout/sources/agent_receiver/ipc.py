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
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec

from lookout.domain.results import CheckResult
from lookout.sources.agent_receiver.http import Handler, Request, Response, problem

if TYPE_CHECKING:
    from lookout_agent import wire as w

log = logging.getLogger(__name__)

HEADER = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024
MAX_PARAMS = 100_000
"""Distinct stored params a front keeps decoded (cleared when it grows past)."""


class RequestFrame(msgspec.Struct, array_like=True, tag="req"):
    id: int
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    peer_cert: bytes | None
    peer: str


class PushFrame(msgspec.Struct, array_like=True, tag="push"):
    """A ``POST /push`` whose body the front decoded and validated (``pushes.decode_push``):
    the head travels, the sections stay in the front until the site asks for their
    evaluation (:class:`EvalAsk`), once it knows who pushed and that they may."""

    id: int
    headers: dict[str, str]
    peer_cert: bytes | None
    peer: str
    wire_version: int
    agent_version: str
    collected_at: float
    interval: float
    collect_ms: float


class EvalAsk(msgspec.Struct, array_like=True, tag="ask"):
    """The site's half of a push's evaluation: the host's agent services (name, plugin,
    item, msgpack of the stored params), the names of all its services (discovery creates
    only the others), its value store, and the time. The site holds the host's lock until
    the answer."""

    id: int
    host: str
    now: float
    plan: list[tuple[str, str, str, bytes]]
    known: list[str]
    values: dict[str, tuple[float, float]]


class EvalDone(msgspec.Struct, array_like=True, tag="done"):
    """The front's half: storable results, the services discovered (name, plugin, item) and
    the value store after the checks; or why the push is gone (``error``)."""

    id: int
    results: list[CheckResult]
    new: list[tuple[str, str, str]]
    values: dict[str, tuple[float, float]]
    error: str | None = None


class ResponseFrame(msgspec.Struct, array_like=True, tag="resp"):
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
_request_decoder = msgspec.msgpack.Decoder(RequestFrame | PushFrame | EvalDone | Hello | FrontStats)
_response_decoder = msgspec.msgpack.Decoder(ResponseFrame | EvalAsk)

Ask = Callable[[EvalAsk], Awaitable[EvalDone]]
PushHandler = Callable[[PushFrame, Ask], Awaitable[Response]]
"""The site's answer to a push decoded by a front; it calls ``Ask`` to have it evaluated."""


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

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, evaluate: bool = False
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.evaluate = evaluate
        """Decode pushes and run their checks here when the site asks; else forward them."""
        self._decode: Callable[[bytes], w.Push | Response] | None = None
        if evaluate:  # imported here: the ingest fronts use this module's framing only
            from lookout.sources.agent_receiver.pushes import decode_push

            self._decode = decode_push
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Response]] = {}
        self._sections: dict[int, w.Sections] = {}
        self._params: dict[bytes, dict[str, Any]] = {}
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
                if isinstance(ans, EvalAsk):
                    self._out.send(self._evaluate(ans))
                    continue
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
        push = None
        if self._decode is not None and req.path == "/push" and req.method == "POST":
            push = self._decode(req.body)
        if push is not None and not isinstance(push, Response):
            self._sections[rid] = push.sections
            self._out.send(
                PushFrame(
                    rid, req.headers, req.peer_cert, req.peer, push.wire_version,
                    push.agent_version, push.collected_at, push.interval, push.collect_ms,
                )
            )  # fmt: skip
        else:  # not a push, or one the site refuses (after it knows who sent it)
            self._out.send(
                RequestFrame(
                    rid, req.method, req.path, req.headers, req.body, req.peer_cert, req.peer
                )
            )
        try:
            return await fut
        finally:
            self._waiting.pop(rid, None)
            self._sections.pop(rid, None)

    def _evaluate(self, ask: EvalAsk) -> EvalDone:
        """Run the checks of a push the site admitted (pure: the state came with ``ask``)."""
        # The plugins load here: the ingest fronts import this module for its framing.
        from lookout.checks.agent.api import ValueStore
        from lookout.checks.agent.registry import BY_NAME
        from lookout.sources.agent_receiver import evaluate

        sections = self._sections.get(ask.id)
        if sections is None:
            return EvalDone(ask.id, [], [], ask.values, "the push is gone from the front")
        try:
            plan = [
                (name, BY_NAME[plugin], item, self._params_of(params))
                for name, plugin, item, params in ask.plan
                if plugin in BY_NAME
            ]
            store = ValueStore(ask.values)
            out = evaluate.evaluate_plan(ask.host, sections, plan, set(ask.known), store, ask.now)
            new = [(name, plugin.name, item) for name, (plugin, item) in out.new.items()]
            results = [evaluate.storable(r) for r in out.results]
        except Exception as exc:  # a bug here must not end the link
            log.exception("agent receiver front: evaluating a push of %s failed", ask.host)
            return EvalDone(ask.id, [], [], ask.values, f"evaluation failed: {exc!r}")
        return EvalDone(ask.id, results, new, store.data)

    def _params_of(self, packed: bytes) -> dict[str, Any]:
        """The same dict for the same stored params (typed params are cached by its id)."""
        params = self._params.get(packed)
        if params is None:
            if len(self._params) >= MAX_PARAMS:
                self._params.clear()
            params = self._params[packed] = msgspec.msgpack.decode(packed, type=dict[str, Any])
        return params


class SiteLink:
    """The site's side of one front: answer its requests with ``handler``."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        handler: Handler,
        push_handler: PushHandler | None = None,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.handler = handler
        self.push_handler = push_handler
        self._asked: dict[int, asyncio.Future[EvalDone]] = {}
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
                if isinstance(msg, EvalDone):
                    fut = self._asked.pop(msg.id, None)
                    if fut is not None and not fut.done():
                        fut.set_result(msg)
                    continue
                task = asyncio.create_task(self._answer(msg))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        except (ConnectionError, msgspec.DecodeError, asyncio.IncompleteReadError) as exc:
            log.error("agent receiver: link to a front broken: %s", exc)
        finally:
            if not self.hello.done():
                self.hello.set_exception(ConnectionError("the front closed before it was ready"))
            for fut in self._asked.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("the front went away"))
            self._asked.clear()
            with contextlib.suppress(Exception):
                self.writer.close()

    async def _answer(self, msg: RequestFrame | PushFrame) -> None:
        try:
            if isinstance(msg, PushFrame):
                if self.push_handler is None:
                    raise RuntimeError("no handler for pushes decoded by a front")
                resp = await self.push_handler(msg, self._ask)
            else:
                req = Request(msg.method, msg.path, msg.headers, msg.body, msg.peer_cert, msg.peer)
                resp = await self.handler(req)
        except Exception:
            log.exception("agent receiver: a request from a front failed")
            resp = problem(500, "internal error (logged on the site)")
        if self.writer.is_closing():
            return
        self._out.send(
            ResponseFrame(msg.id, resp.status, resp.body, resp.content_type, resp.headers)
        )

    async def _ask(self, ask: EvalAsk) -> EvalDone:
        """Have the front evaluate the push it holds (ConnectionError when it went away)."""
        if self.writer.is_closing():
            raise ConnectionError("the front went away")
        fut: asyncio.Future[EvalDone] = asyncio.get_running_loop().create_future()
        self._asked[ask.id] = fut
        self._out.send(ask)
        try:
            return await fut
        finally:
            self._asked.pop(ask.id, None)

    async def drain(self) -> None:
        """Wait for the answers still being worked on (at a stop)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
