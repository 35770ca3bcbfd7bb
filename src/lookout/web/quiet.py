"""A uvicorn server that wakes once a second when idle, not ten times (issue 13: 100 idle sites
on one machine). uvicorn's main loop sleeps 0.1 s between checks for a signal and refreshes its
Date header every tenth turn; here the loop waits up to ``TICK`` seconds for a signal instead,
so an exit is still taken at once and the Date header is refreshed as often as before."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from types import FrameType

import uvicorn

TICK = 1.0
"""Seconds between the server's housekeeping turns (Date header, exit check)."""
TURNS_PER_TICK = 10
"""uvicorn counts turns of 0.1 s; its once-a-second work runs every tenth."""


class QuietServer(uvicorn.Server):
    _wake: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._adopting: set[asyncio.Task[None]] = set()

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + TURNS_PER_TICK) % 864000
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TICK):
                    await self._wake.wait()
            should_exit = await self.on_tick(counter)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def adopt(self, sock: socket.socket, data: bytes) -> None:
        """Serve a connection another process accepted (an ingest front), ``data`` being the
        bytes it already read: the same protocol uvicorn gives the connections it accepts."""
        config = self.config
        protocol = config.http_protocol_class(  # type: ignore[call-arg]
            config=config, server_state=self.server_state, app_state=self.lifespan.state
        )
        if data:  # fed before the loop reads the socket, so the bytes stay in order
            made = protocol.connection_made

            def connection_made(transport: asyncio.BaseTransport) -> None:
                made(transport)
                protocol.data_received(data)

            protocol.connection_made = connection_made  # type: ignore[method-assign]
        sock.setblocking(False)
        task = asyncio.get_running_loop().create_task(self._adopt(sock, protocol))
        self._adopting.add(task)
        task.add_done_callback(self._adopting.discard)

    async def _adopt(self, sock: socket.socket, protocol: asyncio.Protocol) -> None:
        try:
            await asyncio.get_running_loop().connect_accepted_socket(lambda: protocol, sock=sock)
        except OSError:
            sock.close()
