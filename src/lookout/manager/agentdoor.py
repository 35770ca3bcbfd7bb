"""The agent port of the front door: each TLS connection goes to its site's agent receiver by
the server name (SNI) of its ClientHello, and TLS is never terminated here — the bytes are
spliced both ways, so mutual TLS stays end to end between the agent and its site, and an agent
that names another site meets that site's certificate and CA (and is refused there).

No ClientHello within ``hello_timeout``, a malformed one, no SNI, a name that is not of the
form ``[door] agent_name``, an unknown or stopped site, or more than ``max_connections`` at
once: the connection is closed. Once one way has ended, the other gets ``half_close_timeout``
to end too; then both are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from lookout.manager.clienthello import HelloError, handshake, server_name
from lookout.manager.root import DoorSettings
from lookout.manager.routes import Route

log = logging.getLogger(__name__)
CHUNK = 64 * 1024


@dataclass
class Counters:
    spliced: int = 0
    refused: dict[str, int] = field(default_factory=dict)

    def refuse(self, why: str) -> None:
        self.refused[why] = self.refused.get(why, 0) + 1


class RouteTable(Protocol):
    """Where a site's traffic goes (``routes.Routes``, read from the sites' records)."""

    def get(self, name: str) -> Route | None: ...


class AgentDoor:
    def __init__(self, routes: RouteTable, door: DoorSettings, host: str) -> None:
        self.routes = routes
        self.door = door
        self.host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        self.active = 0
        self.counters = Counters()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.active >= self.door.max_connections:
            self.counters.refuse("too many connections")
            writer.close()
            return
        self.active += 1
        try:
            await self._route(reader, writer)
        finally:
            self.active -= 1
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _route(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            async with asyncio.timeout(self.door.hello_timeout):
                first, name = await read_hello(reader)
        except TimeoutError:
            return self._refused(peer, "no ClientHello in time")
        except HelloError as exc:
            return self._refused(peer, str(exc))
        except (OSError, asyncio.IncompleteReadError):
            return self._refused(peer, "closed before its ClientHello")
        site = self.door.site_of(name) if name else None
        route = self.routes.get(site) if site else None
        if route is None or not route.running:
            why = "no server name" if not name else f"server name {name!r}: no running site"
            return self._refused(peer, why)
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, route.agent_port)
        except OSError as exc:
            return self._refused(peer, f"site {site}'s receiver does not answer: {exc}")
        self.counters.spliced += 1
        try:
            up_writer.write(first)  # the ClientHello, exactly as it came
            await both_ways(
                splice(reader, up_writer), splice(up_reader, writer), self.door.half_close_timeout
            )
        finally:
            up_writer.close()
            with contextlib.suppress(OSError):
                await up_writer.wait_closed()

    def _refused(self, peer: object, why: str) -> None:
        self.counters.refuse(why.split(":")[0])
        log.info("agent connection from %s closed: %s", peer, why)


async def read_hello(reader: asyncio.StreamReader) -> tuple[bytes, str | None]:
    """The bytes read up to the end of the ClientHello, and the server name it names."""
    data = b""
    while True:
        message = handshake(data)
        if message is not None:
            return data, server_name(message)
        more = await reader.read(CHUNK)
        if not more:
            raise asyncio.IncompleteReadError(data, None)
        data += more


async def both_ways(
    one: Coroutine[Any, Any, None], other: Coroutine[Any, Any, None], linger: float
) -> None:
    """Run both copies; once one has ended, give the other ``linger`` seconds, then stop it."""
    tasks = {asyncio.ensure_future(one), asyncio.ensure_future(other)}
    try:
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if pending:
            await asyncio.wait(pending, timeout=linger)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def splice(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of file, then pass the end on (half close); errors end it quietly."""
    try:
        while chunk := await reader.read(CHUNK):
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        writer.close()
