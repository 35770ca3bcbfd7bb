"""Server-side TLS for the agent receiver: pyOpenSSL in memory-BIO mode under an asyncio Protocol.

Why not ``start_server(ssl=...)``: that is the stdlib ``ssl`` module on the distro's OpenSSL 3.0,
whose server-side mTLS handshake costs ~1.5 ms of CPU; pyOpenSSL on cryptography's bundled
OpenSSL does it in ~0.8 ms, and the handshake is most of a push's cost (docs/decisions.md).

One ``TLSStream`` per connection: ciphertext from the transport goes into OpenSSL, plaintext
comes out into a buffer that one coroutine per connection (``serve``) reads. Reading from the
socket stops while that coroutine is busy (handler, response), so at most one socket read is
buffered beyond what it asked for. Closing sends close_notify and half-closes, reads what the
peer still sends (so that our last answer is not lost to a reset), and aborts after a short wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import cast

from cryptography.hazmat.primitives.serialization import Encoding
from OpenSSL import SSL

log = logging.getLogger(__name__)

RECORD = 16 * 1024
LINGER = 2.0
"""Seconds a closing connection waits for the peer's EOF (or for its buffer to drain)."""


class StreamClosed(ConnectionError):
    """The peer closed (close_notify or EOF), broke TLS, or the connection was lost."""


class TooLong(Exception):
    """No separator within the limit."""


Serve = Callable[["TLSStream"], Awaitable[None]]


class Listener:
    """A plain TCP server whose connections speak TLS through ``TLSStream``."""

    def __init__(self, ctx: SSL.Context, serve: Serve, handshake_timeout: float) -> None:
        self.ctx = ctx
        self.serve = serve
        self.handshake_timeout = handshake_timeout
        self.handshake_failures = 0
        self.streams: set[TLSStream] = set()
        self.server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: TLSStream(self), host, port, backlog=1024)
        bound: int = self.server.sockets[0].getsockname()[1]
        return bound

    async def start_on(self, sock: socket.socket) -> None:
        """Serve on a listening socket made elsewhere (a front process inherits the site's)."""
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: TLSStream(self), sock=sock, backlog=1024)

    async def stop(self) -> None:
        if self.server is None:
            return
        self.server.close()
        gone = [stream.gone for stream in self.streams]
        for stream in list(self.streams):
            stream.close(linger=False)
        if gone:
            await asyncio.wait(gone, timeout=LINGER)
        self.server = None


class TLSStream(asyncio.Protocol):
    """One server-side TLS connection, read and written by one coroutine."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.tls = SSL.Connection(listener.ctx, None)
        self.tls.set_accept_state()
        self.peer = ""
        self.peer_cert: bytes | None = None
        """DER of the client certificate, verified against the site CA by TLS; or None."""
        self.transport: asyncio.Transport | None = None
        self.task: asyncio.Task[None] | None = None
        self.buf = bytearray()
        self.eof = False  # no more plaintext: close_notify, EOF, TLS error or lost
        self.tcp_eof = False
        self.broken = False  # a fatal TLS error: no close_notify possible
        self.closing = False
        self.lost = False
        self.busy = False  # the coroutine holds data it has not finished with
        self.paused = False
        self.seen_bytes = False
        self.hold = False  # TLS 1.3 session tickets wait for the first answer (one write)
        self.flush_soon = False
        self.waiter: asyncio.Future[None] | None = None
        self.writable: asyncio.Future[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # ------------------------------------------------------------------ protocol callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.peer = str(transport.get_extra_info("peername"))
        self.listener.streams.add(self)
        loop = asyncio.get_running_loop()
        self.timer = loop.call_later(self.listener.handshake_timeout, self._handshake_timeout)

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return  # lingering: discard
        self.seen_bytes = True
        self.tls.bio_write(data)
        if self.task is None and not self._handshake():
            return
        self._decrypt()
        if not self.hold:
            self._flush()  # key updates, alerts
        self._wake()
        if self.busy and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def eof_received(self) -> bool:
        self.tcp_eof = True
        if self.closing:
            return False  # the peer saw our close: done
        if self.task is None:
            self._handshake_failed()
            return False
        self.eof = True
        self._wake()
        return True  # the coroutine closes, after its answer if any

    def connection_lost(self, exc: Exception | None) -> None:
        if self.task is None and not self.closing:
            self._count_failure()
        self.lost = self.eof = self.closing = True
        self.listener.streams.discard(self)
        if not self.gone.done():
            self.gone.set_result(None)
        if self.timer is not None:
            self.timer.cancel()
        self._wake()
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)

    def pause_writing(self) -> None:
        self.writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)
        self.writable = None

    # ------------------------------------------------------------------ for the coroutine
    async def read_until(self, sep: bytes, limit: int) -> bytes:
        """Bytes up to and including ``sep``; TooLong when ``limit`` passes without it."""
        start = 0
        while (end := self.buf.find(sep, start)) < 0:
            if len(self.buf) > limit:
                raise TooLong(f"no {sep!r} within {limit} bytes")
            start = max(0, len(self.buf) - len(sep) + 1)
            await self._more()
        end += len(sep)
        if end > limit:
            raise TooLong(f"no {sep!r} within {limit} bytes")
        return self._take(end)

    async def read_exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            await self._more()
        return self._take(n)

    def write(self, data: bytes) -> None:
        if self.closing or self.transport is None:
            raise StreamClosed("connection closed")
        view = memoryview(data)
        try:
            while view:
                view = view[self.tls.send(view) :]
        except SSL.Error as exc:
            self.broken = True
            raise StreamClosed(f"TLS error while writing: {exc}") from exc
        self.hold = False
        if not self.flush_soon:  # what the coroutine writes in one turn leaves in one write
            self.flush_soon = True
            asyncio.get_running_loop().call_soon(self._flush)

    async def drain(self) -> None:
        if self.writable is not None:
            await self.writable
        if self.lost:
            raise StreamClosed("connection lost")

    def close(self, linger: bool = True) -> None:
        """close_notify (when TLS is intact), then a half-close and a bounded linger."""
        if self.closing or self.transport is None:
            return
        self.closing = self.eof = True
        self.hold = False
        self._wake()  # a coroutine waiting for a request gives up now
        transport = self.transport
        if self.task is not None and not self.broken:
            with contextlib.suppress(SSL.Error):
                self.tls.shutdown()
            self._flush()
        if self.tcp_eof or not linger or not transport.can_write_eof():
            transport.close()
        else:
            transport.write_eof()
            if self.paused:
                self.paused = False
                transport.resume_reading()
        if self.timer is not None:
            self.timer.cancel()
        self.timer = asyncio.get_running_loop().call_later(LINGER, transport.abort)

    # ------------------------------------------------------------------ inside
    def _handshake(self) -> bool:
        try:
            self.tls.do_handshake()
        except SSL.WantReadError:
            self._flush()
            return False
        except SSL.Error as exc:
            log.debug("agent receiver: TLS handshake with %s failed: %s", self.peer, exc)
            self.broken = True
            self._flush()  # the alert
            self._handshake_failed()
            return False
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        # The server's last flight went out before the client's Finished; what OpenSSL wrote
        # since are the session tickets, which go with the first answer (one send, not two).
        self.hold = self.tls.get_protocol_version_name() == "TLSv1.3"
        cert = self.tls.get_peer_certificate(as_cryptography=True)
        self.peer_cert = cert.public_bytes(Encoding.DER) if cert is not None else None
        self.task = asyncio.get_running_loop().create_task(self._run())
        return True

    async def _run(self) -> None:
        try:
            await self.listener.serve(self)
        except Exception:
            log.exception("agent receiver: connection from %s failed", self.peer)
        finally:
            self.close()

    def _handshake_failed(self) -> None:
        self._count_failure()
        self.close()

    def _count_failure(self) -> None:
        if self.seen_bytes:  # a bare connect and close (a port check) is no handshake
            self.listener.handshake_failures += 1

    def _handshake_timeout(self) -> None:
        self.timer = None
        self.listener.handshake_failures += 1
        self.closing = True
        if self.transport is not None:
            self.transport.abort()

    def _decrypt(self) -> None:
        while True:
            try:
                self.buf += self.tls.recv(RECORD)
            except SSL.WantReadError:
                return
            except SSL.ZeroReturnError:  # close_notify
                self.eof = True
                return
            except SSL.Error as exc:
                log.debug("agent receiver: TLS error from %s: %s", self.peer, exc)
                self.eof = self.broken = True
                self._flush()  # the alert, if any
                return

    def _flush(self) -> None:
        self.flush_soon = False
        out = []
        while True:
            try:
                out.append(self.tls.bio_read(65536))
            except SSL.WantReadError:
                break
        if out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(out))

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def _more(self) -> None:
        if self.eof:
            raise StreamClosed("connection closed by the peer")
        self.busy = False
        if self.paused and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        self.waiter = asyncio.get_running_loop().create_future()
        try:
            await self.waiter
        finally:
            self.waiter = None

    def _take(self, n: int) -> bytes:
        self.busy = True
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data
