"""A lean HTTP/1.1 server over TLS for the agent receiver.

Why not uvicorn: an ASGI scope carries no peer certificate, and the receiver needs it on every
request. Here the TLS layer (``tls.py``, pyOpenSSL) hands over the verified client certificate
once per connection, and the request path is a few dict lookups: no framework on the hot path.
Supports keep-alive, pipelining (answered in order) and ``Content-Length`` bodies (no chunked
uploads: 411).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus

import msgspec
from OpenSSL import SSL

from lookout.sources.agent_receiver.tls import Listener, TLSStream, TooLong

log = logging.getLogger(__name__)

MAX_HEAD = 16 * 1024


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds; tests pass short ones."""

    idle: float = 75.0
    body: float = 30.0
    handshake: float = 10.0


PROBLEM = b"application/problem+json"


@dataclass(slots=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    peer_cert: bytes | None
    """DER of the client certificate (verified against the site CA by TLS), or None."""
    peer: str


@dataclass(slots=True)
class Response:
    status: int
    body: bytes
    content_type: bytes = b"application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


Handler = Callable[[Request], Awaitable[Response]]


def problem(status: int, detail: str, **extra: object) -> Response:
    headers = []
    retry = extra.pop("retry_after", None)
    if retry is not None:
        headers.append(("Retry-After", str(retry)))
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    return Response(status, msgspec.json.encode(body), PROBLEM, headers)


def _render(resp: Response, keep_alive: bool) -> bytes:
    head = [
        f"HTTP/1.1 {resp.status} {HTTPStatus(resp.status).phrase}",
        f"Content-Length: {len(resp.body)}",
        "Content-Type: " + resp.content_type.decode(),
        "Connection: " + ("keep-alive" if keep_alive else "close"),
        *(f"{k}: {v}" for k, v in resp.headers),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + resp.body


class Server:
    def __init__(
        self, handler: Handler, ctx: SSL.Context, max_body: int, timeouts: Timeouts = Timeouts()
    ) -> None:
        self.handler = handler
        self.max_body = max_body
        self.timeouts = timeouts
        self.listener = Listener(ctx, self._connection, timeouts.handshake)

    @property
    def handshake_failures(self) -> int:
        return self.listener.handshake_failures

    async def start(self, host: str, port: int) -> int:
        return await self.listener.start(host, port)

    async def start_on(self, sock: socket.socket) -> None:
        """Serve on a listening socket made elsewhere (a front process inherits the site's)."""
        await self.listener.start_on(sock)

    async def stop(self) -> None:
        await self.listener.stop()

    async def _connection(self, stream: TLSStream) -> None:
        """Requests in order until the peer closes, idles out, or a request ends the connection
        (``tls.py`` closes the stream afterwards)."""
        while True:
            try:
                async with asyncio.timeout(self.timeouts.idle):  # not wait_for: keeps cancels
                    head = await stream.read_until(b"\r\n\r\n", MAX_HEAD)
            except (TimeoutError, ConnectionError):
                return
            except TooLong:
                with contextlib.suppress(ConnectionError):
                    stream.write(_render(problem(431, "request head too large"), False))
                return
            try:  # the peer may vanish mid-body or before the answer
                resp, keep = await self._one(head, stream)
                stream.write(_render(resp, keep))
                await stream.drain()
            except ConnectionError:
                return
            if not keep:
                return

    async def _one(self, head: bytes, stream: TLSStream) -> tuple[Response, bool]:
        try:
            lines = head.decode("latin-1").split("\r\n")
            method, path, version = lines[0].split(" ", 2)
        except ValueError:
            return problem(400, "malformed request line"), False
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        if "transfer-encoding" in headers:
            return problem(411, "send the body with a Content-Length"), False
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            return problem(400, "Content-Length is not a number"), False
        if length < 0:
            return problem(400, "negative Content-Length"), False
        if length > self.max_body:
            return (
                problem(413, f"body of {length} bytes is over the limit of {self.max_body} bytes"),
                False,
            )
        try:
            body = b""
            if length:
                async with asyncio.timeout(self.timeouts.body):
                    body = await stream.read_exactly(length)
        except TimeoutError:
            return problem(408, f"body not received within {self.timeouts.body:g} s"), False
        req = Request(method, path.split("?", 1)[0], headers, body, stream.peer_cert, stream.peer)
        try:
            return await self.handler(req), keep
        except Exception:
            log.exception("agent receiver: %s %s failed", method, path)
            return problem(500, "internal error (logged on the site)"), False
