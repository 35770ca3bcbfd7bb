"""Real local servers on 127.0.0.1 ephemeral ports for the active check tests."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from http import HTTPStatus
from pathlib import Path

import pytest

from lookout.checks.active import CheckContext

BODY = b"hello from lookout\n"
"""Body of every answer of the test HTTP server that has one (but /json)."""
JSON_BODY = (
    b'{"status": "ok", "version": "2.1.0", "count": 3, "ready": true,'
    b' "checks": [{"name": "db", "up": true}, {"name": "cache", "up": false}]}'
)
"""Body of the test HTTP server's /json answer."""
TLS_HANDSHAKE = b"\x16"
"""First byte of a TLS client hello; the HTTP server answers it with 400 like real ones."""


class _HttpApp:
    """A tiny HTTP/1.1 responder; routes: /ok, /json, /status/<code>, /redirect, /hang."""

    def __init__(self) -> None:
        self.connections: dict[asyncio.Task[object], asyncio.StreamWriter] = {}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.connections[task] = writer
        try:
            await self._answer(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if await reader.readexactly(1) == TLS_HANDSHAKE:
            writer.write(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
            return
        head = await reader.readuntil(b"\r\n\r\n")
        path = head.split(b" ", 2)[1].decode()
        if path == "/hang":
            await reader.read()  # never answer; wait for the client to give up
            return
        writer.write(_response(path))
        await writer.drain()

    async def stop(self) -> None:
        """Abort open connections and wait for their handlers to end."""
        for writer in self.connections.values():
            writer.transport.abort()
        await asyncio.gather(*self.connections, return_exceptions=True)


def _response(path: str) -> bytes:
    code, extra, body = 200, "", BODY
    if path.startswith("/status/"):
        code = int(path.removeprefix("/status/"))
    elif path == "/redirect":
        code, extra, body = 302, "Location: /ok\r\n", b""
    elif path == "/json":
        body = JSON_BODY
    elif path not in ("/ok", "/json"):
        code = 404
    head = (
        f"HTTP/1.1 {code} {HTTPStatus(code).phrase}\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
        f"Connection: close\r\n{extra}\r\n"
    )
    return head.encode() + body


async def _serve_http(tls: ssl.SSLContext | None) -> AsyncIterator[int]:
    app = _HttpApp()
    server = await asyncio.start_server(app.handle, "127.0.0.1", 0, ssl=tls)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await app.stop()
        await server.wait_closed()


@pytest.fixture
async def http_base() -> AsyncIterator[str]:
    """Base URL of a real plain-HTTP server, e.g. ``http://127.0.0.1:40123``."""
    async for port in _serve_http(None):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made by the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a certificate (cryptography not installed)")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = [openssl, "req", "-x509", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
    command += ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    command += ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(command, check=True, capture_output=True)
    return cert, key


@pytest.fixture
async def https_base(tls_files: tuple[Path, Path]) -> AsyncIterator[str]:
    """Base URL of a real HTTPS server with a self-signed certificate."""
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(*tls_files)
    async for port in _serve_http(tls):
        yield f"https://127.0.0.1:{port}"


@pytest.fixture
async def tcp_port() -> AsyncIterator[int]:
    """Port of a real TCP server that accepts and closes connections."""

    async def hang_up(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port that is bound but not listening: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def blackhole_port() -> Iterator[int]:
    """A port whose accept queue is full: connecting hangs until the client's timeout."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port: int = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)):  # fills the queue
            yield port


@pytest.fixture
async def check_context() -> AsyncIterator[CheckContext]:
    """A real check context (two HTTP clients), closed after the test."""
    ctx = CheckContext.create()
    try:
        yield ctx
    finally:
        await ctx.aclose()
