"""The site's side of the ingest fronts: the API port's listening socket, N front processes
sharing it (each linked by its own socket pairs), a front that dies started again, the fronts'
results answered by the site's :class:`~lookout.web.api.ingest.Ingest`, and the connections
they hand over adopted by the site's uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from starlette.responses import Response

from lookout.sources.agent_receiver.ipc import frame, read_frame
from lookout.web.api.app import shut
from lookout.web.api.deps import AuthGuard
from lookout.web.api.ingest import Ingest
from lookout.web.fronts.ipc import (
    Answer,
    Batch,
    Gate,
    Hello,
    Receiver,
    to_site,
)

log = logging.getLogger(__name__)

READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
RESTART_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
GATE_TTL = 1.0
"""Seconds a front may let a token pass without asking again: the bound on how long a revoked
or expired token still submits results through a front."""

AUTO_MAX = 8
"""Most fronts ``ingest_fronts = "auto"`` starts (the engine is one process: past a few
fronts it is the bound)."""

Adopt = Callable[[socket.socket, bytes], None]


def auto_fronts(cgroup: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """Fronts for ``ingest_fronts = "auto"``: one per CPU this process may use — its CPU
    affinity, and a cgroup v2 CPU quota (a container's limit) — when that is more than one."""
    cpus = float(len(os.sched_getaffinity(0)))
    with contextlib.suppress(OSError, ValueError):
        quota, period = cgroup.read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, int(quota) / int(period))
    usable = int(cpus)
    return min(usable, AUTO_MAX) if usable > 1 else 0


@dataclass(slots=True)
class Front:
    slot: int
    proc: asyncio.subprocess.Process | None = None
    restarts: int = 0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    channel: socket.socket | None = None
    hello: asyncio.Future[Hello] | None = None


def _answer(rid: int, resp: Response) -> Answer:
    headers = [
        (k.decode("latin-1"), v.decode("latin-1"))
        for k, v in resp.raw_headers
        if k != b"content-length"
    ]
    return Answer(rid, resp.status_code, bytes(resp.body), headers)


class IngestFronts:
    """``workers`` front processes on ``listener`` (the bound API socket)."""

    def __init__(self, listener: socket.socket, workers: int, max_body: int) -> None:
        self.listener = listener
        self.listener.set_inheritable(True)
        self.workers = workers
        self.max_body = max_body
        self.fronts = [Front(i) for i in range(workers)]
        self.adopt: Adopt | None = None
        """Serves a handed-over connection (set to the uvicorn server's before it runs)."""
        self.site: Any = None
        self.ingest: Ingest | None = None
        self.guard: AuthGuard | None = None
        self.trusted: Any = None
        self._stopping = False
        self._supervisors: list[asyncio.Task[None]] = []
        self._answering: set[asyncio.Task[None]] = set()

    def wire(self, site: Any, ingest: Ingest, guard: AuthGuard) -> None:
        """What answers the fronts (``create_app`` calls this with the app's own parts)."""
        self.site = site
        self.ingest = ingest
        self.guard = guard
        if site.settings.trusted_proxies:
            from uvicorn.middleware.proxy_headers import _TrustedHosts

            self.trusted = _TrustedHosts(site.settings.trusted_proxies)

    async def start(self) -> None:
        """Start the fronts and wait until each one accepts."""
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                await asyncio.gather(*(self._spawn(f) for f in self.fronts))
        except BaseException as exc:
            await self.stop()
            if isinstance(exc, TimeoutError):
                raise RuntimeError(f"ingest fronts not ready within {READY_TIMEOUT:g} s") from exc
            raise
        self._supervisors = [
            asyncio.create_task(self._supervise(f), name=f"ingest-front-{f.slot}")
            for f in self.fronts
        ]

    async def _spawn(self, front: Front) -> None:
        ours, theirs = socket.socketpair()
        channel, their_channel = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            cmd = [
                sys.executable, "-m", "lookout.web.fronts.front",
                "--listen-fd", str(self.listener.fileno()), "--ipc-fd", str(theirs.fileno()),
                "--pass-fd", str(their_channel.fileno()), "--max-body", str(self.max_body),
            ]  # fmt: skip
            front.proc = await asyncio.create_subprocess_exec(
                *cmd,
                pass_fds=(self.listener.fileno(), theirs.fileno(), their_channel.fileno()),
                stdin=asyncio.subprocess.DEVNULL,
            )
        finally:
            theirs.close()
            their_channel.close()
        loop = asyncio.get_running_loop()
        if front.channel is not None:
            with contextlib.suppress(Exception):
                loop.remove_reader(front.channel.fileno())
            front.channel.close()
        channel.setblocking(False)
        front.channel = channel
        receiver = Receiver(channel)
        loop.add_reader(channel.fileno(), self._adopt, receiver)
        reader, writer = await asyncio.open_connection(sock=ours, limit=2**20)
        front.hello = loop.create_future()
        front.tasks = [
            asyncio.create_task(
                self._serve(front, reader, writer), name=f"ingest-link-{front.slot}"
            )
        ]
        await front.hello

    def _adopt(self, receiver: Receiver) -> None:
        for sock, data in receiver.receive():
            if self.adopt is None:
                sock.close()
                continue
            try:
                self.adopt(sock, data)
            except Exception:
                log.exception("ingest fronts: could not take over a connection")
                sock.close()

    async def _serve(
        self, front: Front, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Answer one front's frames until it closes its end."""
        assert front.hello is not None
        try:
            while (data := await read_frame(reader)) is not None:
                msg = to_site.decode(data)
                if isinstance(msg, Batch):
                    task = asyncio.create_task(self._batch(msg, writer))
                    self._answering.add(task)
                    task.add_done_callback(self._answering.discard)
                elif isinstance(msg, Gate):
                    writer.write(frame(self._gate(msg)))
                elif not front.hello.done():
                    front.hello.set_result(msg)
        except (ConnectionError, msgspec.DecodeError, asyncio.IncompleteReadError) as exc:
            log.error("ingest fronts: link to front %d broken: %s", front.slot, exc)
        finally:
            if not front.hello.done():
                front.hello.set_exception(ConnectionError("the front closed before it was ready"))
            with contextlib.suppress(Exception):
                writer.close()

    def _gate(self, msg: Gate) -> Answer:
        assert self.ingest is not None
        assert self.guard is not None
        if self.site.standby.doors_shut:
            return _answer(msg.id, shut(self.site.standby))
        address = msg.peer
        if self.trusted is not None and msg.forwarded_for and msg.peer in self.trusted:
            address = self.trusted.get_trusted_client_host(msg.forwarded_for) or address
        ingest = self.ingest
        refused = self.guard.judge(address, lambda: ingest.gate(msg.authorization))
        if refused is not None:
            return _answer(msg.id, refused)
        return Answer(msg.id, 0, ttl=GATE_TTL)

    async def _batch(self, msg: Batch, writer: asyncio.StreamWriter) -> None:
        assert self.ingest is not None
        try:
            answers = await self.ingest.finish_many(msg.prepared)
        except Exception:
            log.exception("ingest fronts: a batch failed")
            from lookout.web.api.problems import problem

            answers = [problem(500, "internal error (logged on the site)")] * len(msg.ids)
        if not writer.is_closing():
            writer.write(
                b"".join(frame(_answer(i, a)) for i, a in zip(msg.ids, answers, strict=True))
            )

    async def _supervise(self, front: Front) -> None:
        """Start a front again when it exits (backing off when it keeps failing)."""
        while not self._stopping:
            assert front.proc is not None
            code = await front.proc.wait()
            if self._stopping:
                return
            delay = RESTART_DELAYS[min(front.restarts, len(RESTART_DELAYS) - 1)]
            front.restarts += 1
            log.error(
                "ingest front %d exited with %s; starting it again in %g s", front.slot, code, delay
            )
            await asyncio.sleep(delay)
            try:
                async with asyncio.timeout(READY_TIMEOUT):
                    await self._spawn(front)
            except Exception as exc:
                log.error("ingest fronts: %s", exc)

    async def stop(self) -> None:
        """Stop the fronts (each answers what it holds first), then close the links."""
        self._stopping = True
        for task in self._supervisors:
            task.cancel()
        procs = [f.proc for f in self.fronts if f.proc is not None and f.proc.returncode is None]
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        for proc in procs:
            try:
                async with asyncio.timeout(STOP_TIMEOUT):
                    await proc.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self._answering:
            await asyncio.gather(*self._answering, return_exceptions=True)
        loop = asyncio.get_running_loop()
        for f in self.fronts:
            for task in f.tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if f.channel is not None:
                with contextlib.suppress(Exception):
                    loop.remove_reader(f.channel.fileno())
                f.channel.close()
                f.channel = None
        self.listener.close()  # connections still queued get refused, not left waiting
