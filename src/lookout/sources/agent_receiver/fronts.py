"""The site's side of the TLS front processes: one listening socket, N fronts sharing it, each
linked to the site by its own socket pair.

The fronts are forked by one process (``frontgroup.py``) from one TLS context, so that they share
its session-ticket keys. That process forks a front that died again and sends the site the
new front's end of its socket pair over the control socket; if that process itself dies, the site
starts a new one (new keys: the agents' next connection is a full handshake)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lookout.sources.agent_receiver.frontgroup import parse_control
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
    pid: int | None = None
    link: SiteLink | None = None
    restarts: int = 0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.pid is not None and bool(self.tasks) and not self.tasks[0].done()


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
        self.proc: asyncio.subprocess.Process | None = None
        """The process that forks the fronts (``frontgroup.py``)."""
        self.control: socket.socket | None = None
        self._stopping = False
        self._supervisors: list[asyncio.Task[None]] = []
        self._attaching: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> int:
        """Listen, start the fronts and wait until each one serves; returns the bound port."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.create_server((host, port), family=family, backlog=4096)
        bound: int = self.listener.getsockname()[1]
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                await self._spawn()
        except BaseException as exc:
            await self.stop()
            if isinstance(exc, TimeoutError):
                raise RuntimeError(f"TLS fronts not ready within {READY_TIMEOUT:g} s") from exc
            raise
        self._supervisors = [asyncio.create_task(self._supervise(), name="receiver-fronts")]
        return bound

    async def _spawn(self) -> None:
        """Start the fronts' process, with a socket pair per front and the control socket."""
        assert self.listener is not None
        pairs = [socket.socketpair() for _ in self.fronts]
        control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        fds = [self.listener.fileno(), theirs.fileno(), *(b.fileno() for _, b in pairs)]
        try:
            cmd = [
                sys.executable, "-m", "lookout.sources.agent_receiver.front",
                "--listen-fd", str(self.listener.fileno()), "--control-fd", str(theirs.fileno()),
                *(a for _, b in pairs for a in ("--ipc-fd", str(b.fileno()))),
                "--site-dir", str(self.spec.site_dir), "--site-name", self.spec.site_name,
                "--max-body", str(self.spec.max_body),
                *(["--evaluate-pushes"] if self.spec.evaluate else []),
                *(a for name in self.spec.hostnames for a in ("--hostname", name)),
            ]  # fmt: skip
            self.proc = await asyncio.create_subprocess_exec(
                *cmd, pass_fds=fds, stdin=asyncio.subprocess.DEVNULL
            )
        except BaseException:
            control.close()
            for a, _ in pairs:
                a.close()
            raise
        finally:
            theirs.close()
            for _, b in pairs:
                b.close()
        self._listen_control(control)
        links = zip(self.fronts, (a for a, _ in pairs), strict=True)
        await asyncio.gather(*(self._attach(f, a) for f, a in links))

    async def _attach(self, front: Front, sock: socket.socket) -> None:
        """Serve a front's link; raises when the front reports that it could not start."""
        for task in front.tasks:
            task.cancel()
        front.pid = None
        reader, writer = await asyncio.open_connection(sock=sock)
        front.link = SiteLink(reader, writer, self.handler, self.push_handler)
        front.tasks = [asyncio.create_task(front.link.run(), name=f"receiver-link-{front.slot}")]
        hello = await front.link.hello
        if hello.error is not None:
            raise RuntimeError(f"receiver front {front.slot} could not start: {hello.error}")
        front.pid = hello.pid

    def _listen_control(self, control: socket.socket) -> None:
        control.setblocking(False)
        self.control = control
        asyncio.get_running_loop().add_reader(control.fileno(), self._on_control)

    def _close_control(self) -> None:
        if self.control is not None:
            asyncio.get_running_loop().remove_reader(self.control.fileno())
            self.control.close()
            self.control = None

    def _on_control(self) -> None:
        """A front forked again by the fronts' process: its link comes with the message."""
        assert self.control is not None
        try:
            msg, fds, _, _ = socket.recv_fds(self.control, 64, 1)
        except BlockingIOError:
            return
        except OSError:
            msg, fds = b"", []
        if not msg:  # the fronts' process is gone; _supervise starts another
            for fd in fds:
                socket.close(fd)
            self._close_control()
            return
        try:
            slot = parse_control(msg)
            front = self.fronts[slot]
        except (ValueError, IndexError):
            log.error("agent receiver: unexpected message from the fronts: %r", msg)
            for fd in fds:
                socket.close(fd)
            return
        if not fds:
            log.error("agent receiver: front %d came without its link", slot)
            return
        front.restarts += 1
        task = asyncio.create_task(self._reattach(front, socket.socket(fileno=fds[0])))
        self._attaching.add(task)
        task.add_done_callback(self._attaching.discard)

    async def _reattach(self, front: Front, sock: socket.socket) -> None:
        try:
            async with asyncio.timeout(READY_TIMEOUT):
                await self._attach(front, sock)
            self.error = None
        except Exception as exc:
            self.error = str(exc) or type(exc).__name__
            log.error("agent receiver: %s", self.error)

    async def _supervise(self) -> None:
        """Start the fronts' process again when it exits (backing off when it keeps failing).
        Its fronts go with it: their links close, and each was told to end with its parent."""
        restarts = 0
        while not self._stopping:
            assert self.proc is not None
            code = await self.proc.wait()
            if self._stopping:
                return
            self._close_control()
            for f in self.fronts:
                if f.link is not None:
                    f.link.writer.close()
            delay = RESTART_DELAYS[min(restarts, len(RESTART_DELAYS) - 1)]
            restarts += 1
            log.error(
                "agent receiver: the TLS fronts' process exited with %s; starting it again in %g s",
                code, delay,
            )  # fmt: skip
            await asyncio.sleep(delay)
            for f in self.fronts:
                f.restarts += 1
            try:
                async with asyncio.timeout(READY_TIMEOUT):
                    await self._spawn()
                self.error = None
            except Exception as exc:
                self.error = str(exc) or type(exc).__name__
                log.error("agent receiver: %s", self.error)

    async def stop(self) -> None:
        """Stop accepting, let the fronts finish what they hold, then close the links."""
        self._stopping = True
        for task in [*self._supervisors, *self._attaching]:
            task.cancel()
        proc = self.proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                async with asyncio.timeout(STOP_TIMEOUT):
                    await proc.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        self._close_control()
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
                "pid": f.pid,
                "running": f.running,
                "restarts": f.restarts,
                "handshake_failures": f.link.stats.handshake_failures if f.link else 0,
            }
            for f in self.fronts
        ]

    @property
    def handshake_failures(self) -> int:
        """Failed TLS handshakes of the running fronts (a restarted front counts anew)."""
        return sum(f.link.stats.handshake_failures for f in self.fronts if f.link is not None)
