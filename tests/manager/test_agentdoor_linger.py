"""The agent door closes a spliced connection whose one way has ended once the other way has
been quiet about it for ``half_close_timeout``: a real door, a real upstream server that never
closes, and a client that sends a real TLS ClientHello and then ends its side."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time

from lookout.manager.agentdoor import AgentDoor
from lookout.manager.root import DoorSettings
from lookout.manager.routes import Route


def client_hello(server_name: str) -> bytes:
    """The first flight of a TLS client naming ``server_name`` (SNI), as a real client sends it."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname=server_name)
    with contextlib.suppress(ssl.SSLWantReadError):  # it waits for the server's answer
        tls.do_handshake()
    return outgoing.read()


class OneSite:
    def __init__(self, agent_port: int) -> None:
        self.route = Route("alpha", 1, agent_port, running=True)

    def get(self, name: str) -> Route | None:
        return self.route if name == "alpha" else None


async def test_a_half_closed_connection_is_closed_after_the_linger() -> None:
    got: list[bytes] = []

    async def stubborn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got.append(await reader.read(65536))  # the ClientHello, passed on as it came
        writer.write(b"server flight")
        await writer.drain()
        got.append(await reader.read(65536))  # b"": the agent's end, passed on
        await asyncio.sleep(60)  # never answers it, never closes

    upstream = await asyncio.start_server(stubborn, "127.0.0.1", 0)
    up_port = upstream.sockets[0].getsockname()[1]
    settings = DoorSettings(half_close_timeout=0.3)
    door = AgentDoor(OneSite(up_port), settings, "127.0.0.1")
    server = await asyncio.start_server(door.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        hello = client_hello("alpha.agents.localhost")
        writer.write(hello)
        assert await reader.readexactly(len(b"server flight")) == b"server flight"
        writer.write_eof()
        began = time.monotonic()
        async with asyncio.timeout(10):
            assert await reader.read() == b""  # the door ended the other way too
        assert 0.2 < time.monotonic() - began < 5
        assert got == [hello, b""]
        assert door.counters.spliced == 1
        writer.close()
    finally:
        server.close()
        upstream.close()
