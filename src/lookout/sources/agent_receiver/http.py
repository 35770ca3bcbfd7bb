"""A lean HTTP/1.1 server over TLS for the agent receiver (asyncio streams).

Why not uvicorn: an ASGI scope carries no peer certificate, and the receiver needs it on every
request. Here the connection's ``ssl_object`` is at hand, the client certificate is read once per
connection, and the request path is a few dict lookups: no framework on the hot path.
Supports keep-alive and ``Content-Length`` bodies (no chunked uploads: 411).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus

import msgspec

log = logging.getLogger(__name__)

MAX_HEAD = 16 * 1024
IDLE_TIMEOUT = 75.0
BODY_TIMEOUT = 30.0
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
    def __init__(self, handler: Handler, ctx: ssl.SSLContext, max_body: int) -> None:
        self.handler = handler
        self.ctx = ctx
        self.max_body = max_body
        self.server: asyncio.Server | None = None
        self.handshake_failures = 0

    async def start(self, host: str, port: int) -> int:
        self.server = await asyncio.start_server(
            self._connection, host, port, ssl=self.ctx, limit=MAX_HEAD, backlog=1024,
            ssl_handshake_timeout=10,
        )  # fmt: skip
        sock = self.server.sockets[0]
        bound: int = sock.getsockname()[1]
        return bound

    async def start_on(self, sock: socket.socket) -> None:
        """Serve on a listening socket made elsewhere (a front process inherits the site's)."""
        self.server = await asyncio.start_server(
            self._connection, sock=sock, ssl=self.ctx, limit=MAX_HEAD, backlog=1024,
            ssl_handshake_timeout=10,
        )  # fmt: skip

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)
            self.server = None

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sslobj = writer.get_extra_info("ssl_object")
        peer_cert = sslobj.getpeercert(binary_form=True) if sslobj is not None else None
        peer = str(writer.get_extra_info("peername"))
        try:
            while True:
                try:
                    async with asyncio.timeout(IDLE_TIMEOUT):  # not wait_for: keeps cancels
                        head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, TimeoutError, ConnectionError, ssl.SSLError):
                    return
                except asyncio.LimitOverrunError:
                    writer.write(_render(problem(431, "request head too large"), False))
                    return
                resp, keep = await self._one(head, reader, peer_cert, peer)
                writer.write(_render(resp, keep))
                await writer.drain()
                if not keep:
                    return
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            return
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _one(
        self, head: bytes, reader: asyncio.StreamReader, peer_cert: bytes | None, peer: str
    ) -> tuple[Response, bool]:
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
                async with asyncio.timeout(BODY_TIMEOUT):
                    body = await reader.readexactly(length)
        except TimeoutError:
            return problem(408, f"body not received within {BODY_TIMEOUT:g} s"), False
        req = Request(method, path.split("?", 1)[0], headers, body, peer_cert, peer)
        try:
            return await self.handler(req), keep
        except Exception:
            log.exception("agent receiver: %s %s failed", method, path)
            return problem(500, "internal error (logged on the site)"), False
