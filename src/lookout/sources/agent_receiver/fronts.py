"""The site's side of the TLS front processes: one listening socket, N fronts sharing it, each
linked to the site by its own socket pair; a front that dies is started again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lookout.sources.agent_receiver.http import Handler
from lookout.sources.agent_receiver.ipc import PushHandler, SiteLink

log = logging.getLogger(__name__)

READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
RESTART_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


@dataclass(slots=True)
class FrontSpec:
    """What a front needs to build its TLS context (it reads the site CA's files)."""

    site_dir: Path
    site_name: str
    hostnames: list[str]
    max_body: int
    evaluate: bool = False
    """The fronts decode pushes and run their checks when the site asks (``ipc.EvalAsk``)."""


@dataclass(slots=True)
class Front:
    slot: int
    proc: asyncio.subprocess.Process | None = None
    link: SiteLink | None = None
    restarts: int = 0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class FrontPool:
    def __init__(
        self,
        handler: Handler,
        spec: FrontSpec,
        workers: int,
        push_handler: PushHandler | None = None,
    ) -> None:
        self.handler = handler
        self.push_handler = push_handler
        self.spec = spec
        self.workers = workers
        self.listener: socket.socket | None = None
        self.fronts = [Front(i) for i in range(workers)]
        self.error: str | None = None
        self._stopping = False
        self._supervisors: list[asyncio.Task[None]] = []

    async def start(self, host: str, port: int) -> int:
        """Listen, start the fronts and wait until each one serves; returns the bound port."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.create_server((host, port), family=family, backlog=4096)
        self.listener.set_inheritable(True)
        bound: int = self.listener.getsockname()[1]
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                await asyncio.gather(*(self._spawn(f) for f in self.fronts))
        except BaseException as exc:
            await self.stop()
            if isinstance(exc, TimeoutError):
                raise RuntimeError(f"TLS fronts not ready within {READY_TIMEOUT:g} s") from exc
            raise
        self._supervisors = [
            asyncio.create_task(self._supervise(f), name=f"receiver-front-{f.slot}")
            for f in self.fronts
        ]
        return bound

    async def _spawn(self, front: Front) -> None:
        assert self.listener is not None
        ours, theirs = socket.socketpair()
        try:
            cmd = [
                sys.executable, "-m", "lookout.sources.agent_receiver.front",
                "--listen-fd", str(self.listener.fileno()), "--ipc-fd", str(theirs.fileno()),
                "--site-dir", str(self.spec.site_dir), "--site-name", self.spec.site_name,
                "--max-body", str(self.spec.max_body),
                *(["--evaluate-pushes"] if self.spec.evaluate else []),
                *(a for name in self.spec.hostnames for a in ("--hostname", name)),
            ]  # fmt: skip
            front.proc = await asyncio.create_subprocess_exec(
                *cmd,
                pass_fds=(self.listener.fileno(), theirs.fileno()),
                stdin=asyncio.subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        reader, writer = await asyncio.open_connection(sock=ours)
        front.link = SiteLink(reader, writer, self.handler, self.push_handler)
        front.tasks = [asyncio.create_task(front.link.run(), name=f"receiver-link-{front.slot}")]
        hello = await front.link.hello
        if hello.error is not None:
            raise RuntimeError(f"receiver front {front.slot} could not start: {hello.error}")

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
                "agent receiver front %d exited with %s; starting it again in %g s",
                front.slot, code, delay,
            )  # fmt: skip
            await asyncio.sleep(delay)
            try:
                async with asyncio.timeout(READY_TIMEOUT):
                    await self._spawn(front)
                self.error = None
            except Exception as exc:
                self.error = str(exc)
                log.error("agent receiver: %s", exc)

    async def stop(self) -> None:
        """Stop accepting, let the fronts finish what they hold, then close the links."""
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
        for f in self.fronts:
            if f.link is not None:
                await f.link.drain()
            for task in f.tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.listener is not None:
            self.listener.close()
            self.listener = None

    def status(self) -> list[dict[str, object]]:
        return [
            {
                "pid": f.proc.pid if f.proc is not None else None,
                "running": f.proc is not None and f.proc.returncode is None,
                "restarts": f.restarts,
                "handshake_failures": f.link.stats.handshake_failures if f.link else 0,
            }
            for f in self.fronts
        ]

    @property
    def handshake_failures(self) -> int:
        """Failed TLS handshakes of the running fronts (a restarted front counts anew)."""
        return sum(f.link.stats.handshake_failures for f in self.fronts if f.link is not None)
