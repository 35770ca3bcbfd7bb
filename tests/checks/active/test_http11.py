"""The lean HTTP/1.1 client against real local servers: keep-alive, hang-ups, chunks, TLS."""

from __future__ import annotations

import asyncio
import itertools
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lookout.checks.active.http11 import Http11Client, HttpFailure

pytestmark = pytest.mark.integration

Reply = Callable[[int, bytes], bytes | None]
"""What the server sends for the n-th request (from 0) on a connection, given its head;
None hangs up without an answer."""


def keep_alive(number: int, head: bytes) -> bytes | None:
    return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@dataclass
class Server:
    """A real HTTP server on 127.0.0.1 that answers as ``reply`` says and counts connections."""

    reply: Reply
    close: bool = False
    """Hang up after each answer (without saying so)."""
    connections: int = 0
    heads: list[bytes] = field(default_factory=list)
    open: dict[asyncio.Task[object], asyncio.StreamWriter] = field(default_factory=dict)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        if task is not None:
            self.open[task] = writer
        try:
            for number in itertools.count():
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append(head)
                answer = self.reply(number, head)
                if answer is None:
                    return
                writer.write(answer)
                await writer.drain()
                if self.close:
                    return
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        """Abort the connections still open and wait for their handlers."""
        for writer in self.open.values():
            writer.transport.abort()
        await asyncio.gather(*self.open, return_exceptions=True)


async def serve(
    reply: Reply, tls: ssl.SSLContext | None = None, *, close: bool = False
) -> AsyncIterator[tuple[str, Server]]:
    app = Server(reply, close)
    server = await asyncio.start_server(app.handle, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    scheme = "https" if tls else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}", app
    finally:
        server.close()
        await app.stop()
        await server.wait_closed()


@pytest.fixture
async def client() -> AsyncIterator[Http11Client]:
    web = Http11Client()
    try:
        yield web
    finally:
        await web.aclose()


async def test_a_kept_connection_is_reused(client: Http11Client) -> None:
    async for base, server in serve(keep_alive):
        first = await client.get(f"{base}/a?x=1", max_body=100)
        second = await client.get(f"{base}/b", max_body=100)

        assert server.connections == 1
        assert (first.reused, second.reused) == (False, True)
        assert set(first.phases) == {"connect", "firstbyte"}
        assert set(second.phases) == {"firstbyte"}
        assert (second.status, second.reason, second.body) == (200, "OK", b"ok")
        assert server.heads[0].startswith(b"GET /a?x=1 HTTP/1.1\r\nHost: 127.0.0.1:")


async def test_an_idle_connection_is_not_reused_after_idle_seconds() -> None:
    now = [0.0]
    web = Http11Client(idle_seconds=4.0, timer=lambda: now[0])
    try:
        async for base, server in serve(keep_alive):
            await web.get(base, max_body=10)
            now[0] = 3.9
            assert (await web.get(base, max_body=10)).reused
            now[0] = 8.0
            assert not (await web.get(base, max_body=10)).reused
            assert server.connections == 2
    finally:
        await web.aclose()


async def test_kept_connections_are_capped_in_all() -> None:
    web = Http11Client(max_idle_total=1)
    try:
        async for first, one in serve(keep_alive):
            async for second, other in serve(keep_alive):
                await web.get(first, max_body=10)  # kept: the one place there is
                await web.get(second, max_body=10)  # closed: no place left

                assert (await web.get(first, max_body=10)).reused
                assert not (await web.get(second, max_body=10)).reused
                assert (one.connections, other.connections) == (1, 2)
    finally:
        await web.aclose()


async def test_connection_close_is_honoured(client: Http11Client) -> None:
    def closing(number: int, head: bytes) -> bytes:
        return b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"

    async for base, server in serve(closing):
        for _ in range(3):
            assert not (await client.get(base, max_body=10)).reused
        assert server.connections == 3


async def test_a_kept_connection_the_server_dropped_is_replaced(client: Http11Client) -> None:
    def once_per_connection(number: int, head: bytes) -> bytes | None:
        return keep_alive(number, head) if number == 0 else None

    async for base, server in serve(once_per_connection):
        await client.get(base, max_body=10)
        answer = await client.get(base, max_body=10)  # the kept one hangs up: a new one answers

        assert (answer.status, answer.reused) == (200, False)
        assert server.connections == 2


async def test_a_hang_up_without_answer_is_a_failure(client: Http11Client) -> None:
    async for base, _ in serve(lambda number, head: None):
        with pytest.raises(HttpFailure, match=r"^Server disconnected without sending a response$"):
            await client.get(base, max_body=10)


async def test_a_broken_answer_is_a_failure(client: Http11Client) -> None:
    async for base, _ in serve(lambda number, head: b"SSH-2.0-OpenSSH_9.6\r\n\r\n"):
        with pytest.raises(HttpFailure, match=r"^Invalid HTTP answer: "):
            await client.get(base, max_body=10)


async def test_an_answer_cut_short_is_a_failure(client: Http11Client) -> None:
    cut = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort"
    async for base, _ in serve(lambda number, head: cut, close=True):
        with pytest.raises(HttpFailure, match=r"^Server broke off the answer: "):
            await client.get(base, max_body=10)


async def test_chunked_body_is_joined_and_capped(client: Http11Client) -> None:
    def chunked(number: int, head: bytes) -> bytes:
        chunks = b"5\r\nhello\r\n7\r\n, world\r\n1\r\n!\r\n0\r\n\r\n"
        return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks

    async for base, server in serve(chunked):
        whole = await client.get(base, max_body=100)
        capped = await client.get(base, max_body=8)

        assert (whole.body, whole.size) == (b"hello, world!", 13)
        assert (capped.body, capped.size) == (b"hello, w", 13)
        assert server.connections == 1  # a chunked answer ends cleanly: the connection is kept


async def test_body_until_close_without_length(client: Http11Client) -> None:
    def until_close(number: int, head: bytes) -> bytes | None:
        return b"HTTP/1.0 200 OK\r\nContent-Type: text/plain; charset=latin-1\r\n\r\ncaf\xe9"

    async for base, _ in serve(until_close, close=True):
        answer = await client.get(base, max_body=100)

        assert (answer.text, answer.size, answer.reused) == ("café", 4, False)


async def test_redirects_are_followed_to_the_end(client: Http11Client) -> None:
    def redirecting(number: int, head: bytes) -> bytes:
        if head.startswith(b"GET /end "):
            return b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nend"
        return b"HTTP/1.1 301 Moved Permanently\r\nLocation: /end\r\nContent-Length: 0\r\n\r\n"

    async for base, server in serve(redirecting):
        followed = await client.get(f"{base}/start", follow_redirects=True, max_body=10)
        not_followed = await client.get(f"{base}/start", max_body=10)

        assert (followed.status, followed.body) == (200, b"end")
        assert not_followed.status == 301
        assert server.connections == 1


async def test_endless_redirects_are_a_failure(client: Http11Client) -> None:
    loop = b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n"
    async for base, _ in serve(lambda number, head: loop):
        with pytest.raises(HttpFailure, match=r"^more than 20 redirects$"):
            await client.get(base, follow_redirects=True, max_body=10)


async def test_tls_is_verified_and_kept(tls_files: tuple[Path, Path]) -> None:
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(*tls_files)
    trusting = Http11Client(tls=ssl.create_default_context(cafile=tls_files[0]))
    untrusting = Http11Client()
    try:
        async for base, server in serve(keep_alive, served):
            first = await trusting.get(base, max_body=10)
            second = await trusting.get(base, max_body=10)
            unverified = await untrusting.get(base, verify=False, max_body=10)
            with pytest.raises(ssl.SSLCertVerificationError):
                await untrusting.get(base, max_body=10)

            assert set(first.phases) == {"connect", "tls", "firstbyte"}
            assert second.reused
            assert unverified.status == 200
            assert server.connections == 2  # the refused handshake never reached the server's
            # handler: verified and unverified connections are never shared
    finally:
        await trusting.aclose()
        await untrusting.aclose()


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "http:///path", "http://127.0.0.1:99999/"])
async def test_bad_urls_are_refused(client: Http11Client, url: str) -> None:
    with pytest.raises(ValueError, match=r"absolute http|[Pp]ort"):
        await client.get(url, max_body=10)
