"""The receiver's own TLS layer (pyOpenSSL under an asyncio Protocol) on its edge cases, over
real loopback TLS with the agent's stdlib client context: short timeouts are passed in."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest
from lookout_agent import tls

from lookout.sources.agent_receiver.ca import SiteCA, pem_to_der
from lookout.sources.agent_receiver.http import Request, Response, Server, Timeouts

SHORT = Timeouts(idle=0.5, body=0.3, handshake=0.3)


@dataclass
class Pki:
    ca: SiteCA
    cert: Path
    key: Path

    def client(self) -> ssl.SSLContext:
        return tls.client_context(self.ca.pem, self.cert, self.key)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    ca = SiteCA.ensure(d, "test")
    key = tls.new_key()
    issued = ca.sign_agent(tls.csr_pem(key, tls.new_uuid()), 30)
    (d / "agent.pem").write_text(issued.pem)
    (d / "agent.key").write_bytes(tls.key_pem(key))
    return Pki(ca, d / "agent.pem", d / "agent.key")


Handler = Callable[[Request], Awaitable[Response]]


async def echo(req: Request) -> Response:
    body = {"path": req.path, "len": len(req.body), "cert": (req.peer_cert or b"").hex()}
    return Response(200, msgspec.json.encode(body))


@asynccontextmanager
async def serving(pki: Pki, handler: Handler = echo) -> AsyncIterator[tuple[Server, int]]:
    server = Server(handler, pki.ca.server_context(["127.0.0.1"]), 1000, SHORT)
    port = await server.start("127.0.0.1", 0)
    try:
        yield server, port
    finally:
        await server.stop()


def connect(port: int, ctx: ssl.SSLContext | None) -> socket.socket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    if ctx is None:
        return raw
    # suppress_ragged_eofs=False: an EOF without close_notify raises instead of reading b""
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1", suppress_ragged_eofs=False)


def read_to_end(s: socket.socket) -> bytes:
    out = b""
    while chunk := s.recv(65536):
        out += chunk
    return out


def answers(data: bytes) -> list[tuple[int, dict[str, object]]]:
    """Parse consecutive responses (Content-Length bodies)."""
    out = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = int(dict(h.split(b": ", 1) for h in lines[1:])[b"Content-Length"])
        out.append((int(lines[0].split(b" ")[1]), msgspec.json.decode(rest[:length])))
        data = rest[length:]
    return out


def get(path: str, body: bytes = b"", close: bool = False) -> bytes:
    conn = "Connection: close\r\n" if close else ""
    return f"POST {path} HTTP/1.1\r\n{conn}Content-Length: {len(body)}\r\n\r\n".encode() + body


async def until(cond: Callable[[], bool], what: str) -> None:
    """For what the server does after the client is done (no event to wait for there)."""
    for _ in range(500):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
async def test_keep_alive_serves_several_requests_with_the_client_certificate(
    pki: Pki, version: ssl.TLSVersion
) -> None:
    ctx = pki.client()
    ctx.maximum_version = version

    def client(port: int) -> bytes:
        with connect(port, ctx) as s:
            assert isinstance(s, ssl.SSLSocket)
            assert s.version() == version.name.replace("_", ".")
            out = b""
            for i in range(3):
                s.sendall(get(f"/r{i}", b"x" * i, close=i == 2))
                out += s.recv(65536)  # one answer per request, before the next is sent
            return out + read_to_end(s)  # then close_notify: no ragged EOF

    async with serving(pki) as (_, port):
        got = answers(await asyncio.to_thread(client, port))
    assert [(st, b["path"], b["len"]) for st, b in got] == [(200, f"/r{i}", i) for i in range(3)]
    assert {b["cert"] for _, b in got} == {pem_to_der(pki.cert.read_text()).hex()}


async def test_no_client_certificate_gives_no_peer_cert(pki: Pki) -> None:
    def client(port: int) -> bytes:
        with connect(port, tls.client_context(pki.ca.pem)) as s:
            s.sendall(get("/ca", close=True))
            return read_to_end(s)

    async with serving(pki) as (_, port):
        [(status, body)] = answers(await asyncio.to_thread(client, port))
    assert (status, body["cert"]) == (200, "")


async def test_pipelined_requests_are_answered_in_order_and_reading_pauses(pki: Pki) -> None:
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(req: Request) -> Response:
        if req.path == "/first":
            entered.set()
            await release.wait()
        return await echo(req)

    async with serving(pki, slow) as (server, port):
        s = await asyncio.to_thread(connect, port, pki.client())
        try:
            await asyncio.to_thread(s.sendall, get("/first", b"a"))
            await entered.wait()
            await asyncio.to_thread(s.sendall, get("/second", b"bb") + get("/third", close=True))
            [stream] = server.listener.streams
            await until(lambda: stream.paused, "reading paused while the handler runs")
            release.set()
            got = answers(await asyncio.to_thread(read_to_end, s))
        finally:
            s.close()
    assert [(b["path"], b["len"]) for _, b in got] == [("/first", 1), ("/second", 2), ("/third", 0)]


async def test_close_notify_is_answered_with_close_notify(pki: Pki) -> None:
    def client(port: int) -> bytes:
        s = connect(port, pki.client())
        assert isinstance(s, ssl.SSLSocket)
        s.sendall(get("/x"))
        first = s.recv(65536)
        plain = s.unwrap()  # sends close_notify, waits for the server's
        rest = plain.recv(10)  # then the server's FIN
        plain.close()
        return first + rest

    async with serving(pki) as (server, port):
        [(status, _)] = answers(await asyncio.to_thread(client, port))
        await until(lambda: not server.listener.streams, "connection closed on the server")
    assert status == 200


async def test_handshake_timeout_closes_a_silent_client(pki: Pki) -> None:
    async with serving(pki) as (server, port):
        with await asyncio.to_thread(connect, port, None) as s:
            assert await asyncio.to_thread(s.recv, 10) == b""  # closed by the server
        assert server.handshake_failures == 1


async def test_garbage_instead_of_a_client_hello_fails_the_handshake(pki: Pki) -> None:
    def garbage(port: int) -> None:
        with connect(port, None) as s:
            s.sendall(b"POST /push HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
            read_to_end(s)  # an alert perhaps, then EOF

    async with serving(pki) as (server, port):
        await asyncio.to_thread(garbage, port)
        assert server.handshake_failures == 1
        [(status, _)] = answers(await asyncio.to_thread(send_one, port, pki))
    assert status == 200  # the server still serves


def send_one(port: int, pki: Pki) -> bytes:
    with connect(port, pki.client()) as s:
        s.sendall(get("/ok", close=True))
        return read_to_end(s)


async def test_a_certificate_of_another_ca_fails_the_handshake(pki: Pki, tmp_path: Path) -> None:
    other = SiteCA.ensure(tmp_path, "other")
    key = tls.new_key()
    (tmp_path / "a.pem").write_text(other.sign_agent(tls.csr_pem(key, tls.new_uuid()), 1).pem)
    (tmp_path / "a.key").write_bytes(tls.key_pem(key))
    ctx = tls.client_context(pki.ca.pem, tmp_path / "a.pem", tmp_path / "a.key")

    def client(port: int) -> None:
        with connect(port, ctx) as s:  # TLS 1.3: the alert comes after the client's Finished
            s.sendall(get("/x"))
            s.recv(10)

    async with serving(pki) as (server, port):
        with pytest.raises(ssl.SSLError, match="UNKNOWN_CA"):
            await asyncio.to_thread(client, port)
        assert server.handshake_failures == 1


@pytest.mark.parametrize("how", ["fin", "reset"])
async def test_a_peer_that_vanishes_mid_body(
    pki: Pki, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    called: list[Request] = []

    async def record(req: Request) -> Response:
        called.append(req)
        return await echo(req)

    def client(port: int) -> None:
        s = connect(port, pki.client())
        s.sendall(b"POST /push HTTP/1.1\r\nContent-Length: 500\r\n\r\n" + b"x" * 100)
        if how == "reset":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # no close_notify

    caplog.set_level(logging.WARNING)
    async with serving(pki, record) as (server, port):
        await asyncio.to_thread(client, port)
        await until(lambda: not server.listener.streams, "connection closed on the server")
        [(status, _)] = answers(await asyncio.to_thread(send_one, port, pki))
    assert status == 200
    assert [r.path for r in called] == ["/ok"]
    assert not caplog.records


async def test_a_body_that_stops_gets_408(pki: Pki) -> None:
    def client(port: int) -> bytes:
        with connect(port, pki.client()) as s:
            s.sendall(b"POST /push HTTP/1.1\r\nContent-Length: 50\r\n\r\nabc")
            return read_to_end(s)

    async with serving(pki) as (_, port):
        [(status, body)] = answers(await asyncio.to_thread(client, port))
    assert (status, body["title"]) == (408, "Request Timeout")


async def test_an_idle_connection_is_closed_with_close_notify(pki: Pki) -> None:
    def client(port: int) -> bytes:
        with connect(port, pki.client()) as s:
            return read_to_end(s)  # SSLEOFError if the server did not send close_notify

    async with serving(pki) as (_, port):
        assert await asyncio.to_thread(client, port) == b""


async def test_a_failing_handler_gets_500_and_the_connection_closes(pki: Pki) -> None:
    async def boom(req: Request) -> Response:
        raise RuntimeError("boom")

    def client(port: int) -> bytes:
        with connect(port, pki.client()) as s:
            s.sendall(get("/x") + get("/never"))
            return read_to_end(s)

    async with serving(pki, boom) as (_, port):
        [(status, body)] = answers(await asyncio.to_thread(client, port))
    assert (status, body["detail"]) == (500, "internal error (logged on the site)")


async def test_stop_closes_open_connections(pki: Pki) -> None:
    async with serving(pki) as (server, port):
        s = await asyncio.to_thread(connect, port, pki.client())
        await asyncio.to_thread(s.sendall, get("/x"))
        await asyncio.to_thread(s.recv, 65536)
        await server.stop()
        assert await asyncio.to_thread(read_to_end, s) == b""  # close_notify, then EOF
        s.close()
        assert not server.listener.streams


async def test_an_oversized_head_gets_431_while_the_client_still_sends(pki: Pki) -> None:
    def client(port: int) -> bytes:
        with connect(port, pki.client()) as s:
            s.sendall(b"POST /push HTTP/1.1\r\nX: " + b"a" * 1_000_000)  # the server lingers
            return read_to_end(s)

    async with serving(pki) as (_, port):
        [(status, body)] = answers(await asyncio.to_thread(client, port))
    assert (status, body["detail"]) == (431, "request head too large")


async def test_a_bare_connect_is_no_handshake_failure(pki: Pki) -> None:
    async with serving(pki) as (server, port):
        await asyncio.to_thread(lambda: connect(port, None).close())
        await until(lambda: not server.listener.streams, "connection closed on the server")
        assert server.handshake_failures == 0


class CountingTransport:
    """A transport that counts the writes (each is a ``send`` on the socket)."""

    def __init__(self, inner: asyncio.Transport, writes: list[int]) -> None:
        self._inner = inner
        self._writes = writes

    def write(self, data: bytes) -> None:
        self._writes.append(len(data))
        self._inner.write(data)

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


@pytest.mark.parametrize("resume", [False, True], ids=["full", "resumed"])
async def test_tls13_tickets_answer_and_close_notify_leave_in_one_write(
    pki: Pki, resume: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the server's handshake flight, a one-request TLS 1.3 connection costs one send:
    the session tickets wait for the answer, and close_notify goes with it."""
    from lookout.sources.agent_receiver import tls as server_tls

    writes: list[int] = []
    made = server_tls.TLSStream.connection_made

    def counting(self: server_tls.TLSStream, transport: asyncio.BaseTransport) -> None:
        made(self, CountingTransport(transport, writes))  # type: ignore[arg-type]

    monkeypatch.setattr(server_tls.TLSStream, "connection_made", counting)
    ctx = pki.client()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3

    def client(port: int, session: ssl.SSLSession | None) -> tuple[bytes, ssl.SSLSession]:
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1", session=session) as s:
            assert s.session_reused == (session is not None)
            s.sendall(get("/once", close=True))
            out = read_to_end(s)
            assert s.session is not None
            return out, s.session

    async with serving(pki) as (_, port):
        _, session = await asyncio.to_thread(client, port, None)
        writes.clear()
        out, _ = await asyncio.to_thread(client, port, session if resume else None)
        await until(lambda: len(writes) >= 2, "the server's writes")
    assert answers(out)[0][0] == 200
    assert len(writes) == 2, writes  # the handshake flight; tickets + answer + close_notify
