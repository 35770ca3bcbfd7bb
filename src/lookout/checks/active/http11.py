"""A lean HTTP/1.1 client for the checks: h11 over asyncio streams, idle connections kept.

httpx/httpcore cost most of an HTTP check's CPU (a third of it in the connection pool's
bookkeeping and anyio's cancel scopes); h11 (the protocol state machine httpcore itself uses)
over plain asyncio streams does the same request for a fraction of it. What a check needs and
nothing else: GET with redirects, TLS with or without verification, per-phase timings, a cap
on the body kept, and a keep-alive pool per origin (scheme, host, port, verification).

A kept connection is reused only while it has been idle less than ``idle_seconds`` (below the
5 s keep-alive timeout of Apache and Node) and the server has not closed it; a request on a
reused connection that fails before any answer is sent once more on a fresh connection, so a
server that closed the connection meanwhile costs no false alarm. Phase timings
``connect``/``tls`` exist only for requests that opened a connection.
"""

from __future__ import annotations

import asyncio
import codecs
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import urljoin, urlsplit

import h11
import httpx

REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 20
READ_SIZE = 65536


class HttpFailure(Exception):
    """The server broke the protocol or hung up; ``str()`` says what, for a check summary."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a connection goes; connections are kept and reused per origin."""

    scheme: str
    host: str
    port: int
    verify: bool


@dataclass(frozen=True, slots=True)
class Answer:
    """The final answer to a GET (after redirects, if followed)."""

    status: int
    reason: str
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    """The first ``max_body`` bytes of the body."""
    size: int
    """Bytes of the whole body."""
    phases: dict[str, float]
    """Seconds of ``connect``, ``tls`` (if a connection was opened) and ``firstbyte``."""
    reused: bool
    """The answer came over a kept connection."""

    @property
    def text(self) -> str:
        """The kept body decoded with the charset of Content-Type (UTF-8 if none or unknown)."""
        return self.body.decode(_charset(self.headers), errors="replace")


@dataclass(slots=True, eq=False)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    state: h11.Connection = field(default_factory=lambda: h11.Connection(h11.CLIENT))
    idle_since: float = 0.0
    reused: bool = False

    def usable(self, now: float, idle_seconds: float) -> bool:
        """Idle briefly and not closed by the server."""
        fresh = now - self.idle_since < idle_seconds
        return fresh and not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.transport.abort()


def origin_of(url: str, verify: bool) -> tuple[Origin, str]:
    """The origin of an absolute http(s) URL and the request target (path and query).

    Raises ``ValueError`` naming the URL when it is not absolute http(s) or its port is bad.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an absolute http:// or https:// URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ValueError(f"{url!r}: {exc}") from None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Origin(parts.scheme, parts.hostname, port, verify), target


class Http11Client:
    """GETs for the checks, with a keep-alive pool; close it with ``aclose``.

    ``tls`` is the verifying TLS context (default: httpx's, with certifi's CAs); the
    non-verifying one is made here. ``max_idle`` caps kept connections per origin,
    ``max_idle_total`` all of them (each is a file descriptor: thousands of hosts checked
    within ``idle_seconds`` must not use up the process's limit).
    """

    def __init__(
        self,
        *,
        tls: ssl.SSLContext | None = None,
        user_agent: str = "lookout-check",
        idle_seconds: float = 4.0,
        max_idle: int = 64,
        max_idle_total: int = 256,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._tls = {True: tls, False: None}
        self._headers = [("User-Agent", user_agent), ("Accept", "*/*")]
        self._idle_seconds = idle_seconds
        self._max_idle = max_idle
        self._max_idle_total = max_idle_total
        self._idle_total = 0
        self._timer = timer
        self._idle: dict[Origin, list[_Connection]] = {}
        self._swept = timer()

    async def get(
        self, url: str, *, verify: bool = True, follow_redirects: bool = False, max_body: int
    ) -> Answer:
        """GET ``url``; raises ``OSError`` (refused, TLS, ...), ``HttpFailure`` or
        ``ValueError`` (a bad URL, also in a redirect's Location)."""
        started = self._timer()
        for _ in range(MAX_REDIRECTS + 1):
            origin, target = origin_of(url, verify)
            answer = await self._request(origin, target, started, max_body)
            location = _header(answer.headers, b"location")
            if not follow_redirects or answer.status not in REDIRECTS or location is None:
                return answer
            url = urljoin(url, location.decode("latin-1"))
        raise HttpFailure(f"more than {MAX_REDIRECTS} redirects")

    async def aclose(self) -> None:
        """Close every kept connection."""
        for kept in self._idle.values():
            for conn in kept:
                conn.close()
        self._idle.clear()
        self._idle_total = 0

    async def _request(self, origin: Origin, target: str, started: float, cap: int) -> Answer:
        phases: dict[str, float] = {}
        conn = self._kept(origin)
        if conn is not None:
            exchange = _Exchange(conn, self._timer, started, cap)
            try:
                return await self._exchange(exchange, origin, target, phases)
            except (OSError, HttpFailure):
                if exchange.received:
                    raise
            # the server closed the kept connection meanwhile: once more on a new one
        conn = await self._connect(origin, phases)
        exchange = _Exchange(conn, self._timer, started, cap)
        return await self._exchange(exchange, origin, target, phases)

    def _kept(self, origin: Origin) -> _Connection | None:
        now = self._timer()
        if now - self._swept > self._idle_seconds:
            self._sweep(now)
        kept = self._idle.get(origin)
        while kept:
            conn = kept.pop()
            self._idle_total -= 1
            if conn.usable(now, self._idle_seconds):
                conn.reused = True
                return conn
            conn.close()
        return None

    def _sweep(self, now: float) -> None:
        self._swept = now
        for origin, kept in list(self._idle.items()):
            keep = [conn for conn in kept if conn.usable(now, self._idle_seconds)]
            for conn in kept:
                if conn not in keep:
                    conn.close()
            self._idle_total -= len(kept) - len(keep)
            if keep:
                self._idle[origin] = keep
            else:
                del self._idle[origin]

    async def _connect(self, origin: Origin, phases: dict[str, float]) -> _Connection:
        begun = self._timer()
        reader, writer = await asyncio.open_connection(origin.host, origin.port)
        phases["connect"] = self._timer() - begun
        if origin.scheme == "https":
            begun = self._timer()
            try:
                await writer.start_tls(
                    self._tls_context(origin.verify), server_hostname=origin.host
                )
            except BaseException:
                writer.transport.abort()
                raise
            phases["tls"] = self._timer() - begun
        return _Connection(reader, writer)

    def _tls_context(self, verify: bool) -> ssl.SSLContext:
        context = self._tls[verify]
        if context is None:
            context = httpx.create_ssl_context(verify=verify, trust_env=False)
            context.set_alpn_protocols(["http/1.1"])
            self._tls[verify] = context
        return context

    async def _exchange(
        self, exchange: _Exchange, origin: Origin, target: str, phases: dict[str, float]
    ) -> Answer:
        done = False
        try:
            answer = await exchange.run(_host_header(origin), target, self._headers, phases)
            done = True
        finally:
            if not done:
                exchange.conn.close()
        self._release(origin, exchange.conn)
        return answer

    def _release(self, origin: Origin, conn: _Connection) -> None:
        state = conn.state
        if state.our_state is h11.DONE and state.their_state is h11.DONE:
            state.start_next_cycle()
            kept = self._idle.setdefault(origin, [])
            if len(kept) < self._max_idle and self._idle_total < self._max_idle_total:
                self._idle_total += 1
                conn.idle_since = self._timer()
                kept.append(conn)
                return
        conn.close()


@dataclass(slots=True)
class _Exchange:
    """One request and its answer on one connection."""

    conn: _Connection
    timer: Callable[[], float]
    started: float
    cap: int
    received: bool = False
    """Some of the answer arrived (a failure then is the server's, not a stale connection)."""

    async def run(
        self,
        host: str,
        target: str,
        headers: list[tuple[str, str]],
        phases: dict[str, float],
    ) -> Answer:
        state = self.conn.state
        request = h11.Request(method="GET", target=target, headers=[("Host", host), *headers])
        self.conn.writer.write(state.send(request) + (state.send(h11.EndOfMessage()) or b""))
        response = await self._response()
        phases["firstbyte"] = self.timer() - self.started
        body, size = await self._body()
        reason = response.reason.decode("latin-1") or _phrase(response.status_code)
        raw = tuple((bytes(name), bytes(value)) for name, value in response.headers)
        return Answer(response.status_code, reason, raw, body, size, phases, self.conn.reused)

    async def _response(self) -> h11.Response:
        while True:
            event = await self._next(answered=False)
            if isinstance(event, h11.Response):
                return event
            # h11.InformationalResponse (1xx) is skipped; nothing else comes first

    async def _body(self) -> tuple[bytes, int]:
        body = bytearray()
        size = 0
        while True:
            event = await self._next(answered=True)
            if isinstance(event, h11.Data):
                size += len(event.data)
                if len(body) < self.cap:
                    body += event.data[: self.cap - len(body)]
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                return bytes(body), size

    async def _next(self, *, answered: bool) -> object:
        state = self.conn.state
        while True:
            try:
                event = state.next_event()
            except h11.RemoteProtocolError as exc:
                raise _failure(exc, answered) from exc
            if event is not h11.NEED_DATA:
                return event
            data = await self.conn.reader.read(READ_SIZE)
            self.received = self.received or bool(data)
            state.receive_data(data)


def _failure(exc: h11.RemoteProtocolError, answered: bool) -> HttpFailure:
    if answered:
        return HttpFailure(f"Server broke off the answer: {exc}")
    if "ConnectionClosed" in str(exc):  # h11 names the event it could not take
        return HttpFailure("Server disconnected without sending a response")
    return HttpFailure(f"Invalid HTTP answer: {exc}")


def _host_header(origin: Origin) -> str:
    host = f"[{origin.host}]" if ":" in origin.host else origin.host
    default = 443 if origin.scheme == "https" else 80
    return host if origin.port == default else f"{host}:{origin.port}"


def _header(headers: tuple[tuple[bytes, bytes], ...], name: bytes) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def _charset(headers: tuple[tuple[bytes, bytes], ...]) -> str:
    content_type = _header(headers, b"content-type") or b""
    for param in content_type.decode("latin-1").split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "charset":
            try:
                return codecs.lookup(value.strip("\"' ")).name
            except LookupError:
                break
    return "utf-8"


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
