"""The Livestatus listener: a Unix socket (and optionally TCP, with TLS and an allow-list).

One asyncio task per connection on the site's event loop. A request is read line by line
until an empty line or the client's end of input, within ``max_request_bytes`` and
``request_timeout``; a kept-alive connection waits ``idle_timeout`` for its next one. An
answer is written with a bounded wait for the client to read it, so a slow or stuck client
only holds its own task. Beyond ``max_connections`` new connections are closed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import ssl
from collections.abc import Sequence
from pathlib import Path

from lookout.config import LivestatusSettings, parse_listen
from lookout.domain import audit
from lookout.livestatus import output
from lookout.livestatus.commands import run_command
from lookout.livestatus.data import SiteData
from lookout.livestatus.errors import INVALID, TOO_LARGE, LqlError
from lookout.livestatus.execute import answer
from lookout.livestatus.query import Request, parse_request
from lookout.livestatus.tables import Table

log = logging.getLogger(__name__)

MAX_UNIX_PATH = 100
"""Socket paths this long or longer are bound through the directory (sun_path holds 108)."""
WRITE_TIMEOUT = 30.0
"""Seconds an answer may wait for the client to read it before the connection is dropped."""


class Incomplete(Exception):
    """The client ended its input in the middle of a request."""


class LivestatusServer:
    def __init__(
        self,
        data: SiteData,
        tables: dict[str, Table],
        settings: LivestatusSettings,
        socket_path: Path | None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.data = data
        self.tables = tables
        self.settings = settings
        self.socket_path = socket_path
        self.tls = tls
        self.allow = [ipaddress.ip_network(n, strict=False) for n in settings.allow]
        self._servers: list[asyncio.Server] = []
        self._conns: set[asyncio.Task[None]] = set()
        self.tcp_port: int | None = None

    async def start(self) -> None:
        s = self.settings
        if self.socket_path is not None:
            try:
                self._servers.append(await self._start_unix(self.socket_path))
            except OSError as exc:  # the site runs on without it, saying why
                log.error("livestatus: cannot listen on %s: %s", self.socket_path, exc)
        if s.tcp:
            host, port = parse_listen(s.tcp)
            server = await asyncio.start_server(
                self._accept, host, port, ssl=self.tls, limit=s.max_request_bytes
            )
            self.tcp_port = server.sockets[0].getsockname()[1]
            self._servers.append(server)

    async def _start_unix(self, path: Path) -> asyncio.Server:
        _clear(path)
        limit = self.settings.max_request_bytes
        if len(os.fsencode(path)) < MAX_UNIX_PATH:
            server = await asyncio.start_unix_server(self._accept, path, limit=limit)
        else:  # too long for sun_path: bind through the directory's descriptor (Linux)
            fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                short = f"/proc/self/fd/{fd}/{path.name}"
                server = await asyncio.start_unix_server(self._accept, short, limit=limit)
            finally:
                os.close(fd)
        os.chmod(path, 0o660)
        return server

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._conns):
            task.cancel()
        for task in list(self._conns):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for server in self._servers:
            await server.wait_closed()
        self._servers = []
        if self.socket_path is not None:
            _clear(self.socket_path)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is None or not self._admitted(writer):
            writer.close()
            return
        self._conns.add(task)
        self.data.counters.connections += 1
        try:
            await self._serve(reader, writer)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            self._conns.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    def _admitted(self, writer: asyncio.StreamWriter) -> bool:
        if len(self._conns) >= self.settings.max_connections:
            log.warning("livestatus: %d connections open, refusing another", len(self._conns))
            return False
        peer = writer.get_extra_info("peername")
        if not isinstance(peer, tuple):  # the Unix socket: its file mode decides
            return True
        try:
            addr = ipaddress.ip_address(peer[0])
        except ValueError:
            return False
        if any(addr in net for net in self.allow):
            return True
        log.warning("livestatus: refused %s (not in [livestatus] allow)", peer[0])
        return False

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection; its commands are recorded in the audit log as coming from its peer
        (the Unix socket: ``unix``), by the author each command names."""
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) else "unix"
        with audit.acting(audit.Door("livestatus", address)):
            await self._requests(reader, writer)

    async def _requests(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first = True
        refused = b""  # a refused command's line, for a client that closes its side next
        while True:
            wait = self.settings.request_timeout if first else self.settings.idle_timeout
            try:
                text, eof = await self._read_request(reader, wait)
            except LqlError as exc:  # too large: answer, then close (the rest is unread)
                await self._write(
                    writer, output.frame(exc.code, output.error_body(exc.message), True)
                )
                return
            if text is None:
                if refused:  # Thruk's client sends the command, then shuts down and reads
                    await self._write(writer, refused)
                return
            first, refused = False, b""
            req = parse_request(text)
            self.data.counters.requests += 1
            if req.method == "COMMAND" and req.error is None:
                failed = await self._commands(req)
                if failed is not None and req.fixed16:
                    await self._write(writer, output.frame(*failed, True))
                elif failed is not None:
                    code, body = failed
                    refused = f"{code}: ".encode() + body
            else:
                await self._write(writer, await answer(req, self.tables, self.data))
            if eof:
                if refused:
                    await self._write(writer, refused)
                return
            if not req.keepalive and req.method != "COMMAND":
                return  # after commands the connection stays (as in Naemon): more may follow

    async def _read_request(
        self, reader: asyncio.StreamReader, first_wait: float
    ) -> tuple[str | None, bool]:
        """(request text, client ended its input); (None, True) at a clean end."""
        limit = self.settings.max_request_bytes
        lines: list[bytes] = []
        size = 0
        line = await asyncio.wait_for(_readline(reader, limit), first_wait)
        async with asyncio.timeout(self.settings.request_timeout):
            while True:
                if not line:
                    if not lines:
                        return None, True
                    return _decode(lines), True
                if not line.endswith(b"\n") and not reader.at_eof():
                    raise LqlError(TOO_LARGE, f"request line longer than {limit} bytes")
                size += len(line)
                if size > limit:
                    raise LqlError(TOO_LARGE, f"request larger than {limit} bytes")
                if line in (b"\n", b"\r\n"):
                    if lines:
                        return _decode(lines), False
                else:
                    lines.append(line)
                line = await _readline(reader, limit)

    async def _commands(self, req: Request) -> tuple[int, bytes] | None:
        """Carry out each command line, stopping at the first refused one: (code, message)
        of that one (logged), None when all were done. Commands get no answer otherwise."""
        for line in req.commands:
            self.data.counters.commands += 1
            try:
                await run_command(self.data.actions, line)
            except LqlError as exc:
                self.data.counters.errors += 1
                log.warning("livestatus: refused %s: %s", line[:200], exc.message)
                return exc.code, output.error_body(exc.message)
            except Exception as exc:  # a bug: the client hears it, the connection goes on
                self.data.counters.errors += 1
                log.exception("livestatus: %s failed", line[:200])
                return INVALID, output.error_body(f"internal error: {type(exc).__name__}")
            log.info("livestatus: %s", line[:200])
        return None

    async def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT)


def _clear(path: Path) -> None:
    """Make the socket's directory; remove a socket left behind (by a site that died)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


async def _readline(reader: asyncio.StreamReader, limit: int) -> bytes:
    try:
        return await reader.readline()
    except ValueError:  # over the stream's limit without a newline
        raise LqlError(TOO_LARGE, f"request line longer than {limit} bytes") from None


def _decode(lines: Sequence[bytes]) -> str:
    return b"".join(lines).decode("utf-8", "replace")
