"""The spawner process: plugins are started from a small helper process, not from the site.

Starting a program costs the starting process about half a millisecond in ``posix_spawn``
(the kernel's exec work happens while the parent waits) and a few more system calls for the
pipe and the pidfd; at thousands of checks a second that is most of a core, taken from the
site's event loop (``bench/plugins.py`` measured it). So the site hands each run to a helper
process (``python -m lookout.sources.active.spawner``) that runs an :class:`Executor` on its
own event loop and answers with the :class:`~lookout.domain.commands.Execution`:

    site ──[len][msgpack Request(id, argv, time_limit, env)]──► spawner (stdin)
    site ◄──[len][msgpack Started(id, pid)]── when the program runs
    site ◄──[len][msgpack Reply(id, exit_code, signal, output, cut, elapsed, error, timed_out)]──

The helper enforces the timeouts, the output cap and the concurrency limit; it exits when its
stdin closes (the site stopped or died), killing the process groups of the runs it still has.
When the helper dies (even by SIGKILL, when it can clean nothing up), the site kills the
process groups of the runs it had started (``Started``), those runs answer UNKNOWN and the
next run starts a new helper.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
import struct
import sys
from collections.abc import Mapping, Sequence

import msgspec

from lookout.domain.commands import MAX_OUTPUT, Execution
from lookout.sources.active.plugins import DISABLED, Executor

log = logging.getLogger(__name__)

_HEADER = struct.Struct("!I")


class Request(msgspec.Struct, array_like=True):
    id: int
    argv: list[str]
    time_limit: float
    env: dict[str, str] | None = None


class Started(msgspec.Struct, array_like=True, tag=1):
    """A run's program is running as ``pid`` (the leader of its own process group)."""

    id: int
    pid: int


class Reply(msgspec.Struct, array_like=True, tag=0):
    id: int
    exit_code: int | None
    signal: int | None
    output: str
    cut: bool
    elapsed: float
    error: str
    timed_out: bool


class SpawnerClient:
    """An executor whose runs happen in the spawner process (same interface as Executor)."""

    def __init__(
        self,
        *,
        enabled: bool = True,
        concurrency: int = 64,
        max_output: int = MAX_OUTPUT,
        kill_grace: float = 1.0,
    ) -> None:
        self.enabled = enabled
        self.concurrency = concurrency
        self._args = [str(concurrency), str(max_output), str(kill_grace)]
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._waiting: dict[int, tuple[tuple[str, ...], asyncio.Future[Execution]]] = {}
        self._groups: dict[int, int] = {}
        """Run id → pid of its program while it runs (killed with the group if we die)."""
        self._ids = 0
        self._lock = asyncio.Lock()
        self.started = 0
        """Runs handed to the spawner."""

    async def execute(
        self, argv: Sequence[str], time_limit: float, env: Mapping[str, str] | None = None
    ) -> Execution:
        """Run ``argv`` in the spawner; see :meth:`Executor.execute`."""
        words = tuple(argv)
        if not self.enabled:
            return Execution(words, error=DISABLED)
        proc = await self._running()
        self._ids += 1
        future: asyncio.Future[Execution] = asyncio.get_running_loop().create_future()
        self._waiting[self._ids] = (words, future)
        request = Request(self._ids, list(words), time_limit, dict(env) if env else None)
        body = msgspec.msgpack.encode(request)
        assert proc.stdin is not None
        proc.stdin.write(_HEADER.pack(len(body)) + body)
        self.started += 1
        with contextlib.suppress(ConnectionError, RuntimeError):  # the reader answers them
            await proc.stdin.drain()
        return await future

    async def _running(self) -> asyncio.subprocess.Process:
        if self._proc is not None and self._proc.returncode is None:
            return self._proc
        async with self._lock:
            if self._proc is None or self._proc.returncode is not None:
                self._proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "lookout.sources.active.spawner",
                    *self._args,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    start_new_session=True,
                )
                self._reader = asyncio.create_task(self._read(self._proc), name="spawner reader")
            return self._proc

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        try:
            while True:
                header = await proc.stdout.readexactly(_HEADER.size)
                body = await proc.stdout.readexactly(_HEADER.unpack(header)[0])
                reply = _MESSAGES.decode(body)
                if isinstance(reply, Started):
                    self._groups[reply.id] = reply.pid
                    continue
                self._groups.pop(reply.id, None)
                argv, future = self._waiting.pop(reply.id, ((), None))
                if future is not None and not future.done():
                    future.set_result(_execution(argv, reply))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            await proc.wait()
            log.error(
                "the spawner process exited (%s); runs in flight are UNKNOWN", proc.returncode
            )
            groups, self._groups = self._groups, {}
            for pid in groups.values():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
            waiting, self._waiting = self._waiting, {}
            for argv, future in waiting.values():
                if not future.done():
                    future.set_result(Execution(argv, error="the spawner process exited"))

    async def aclose(self) -> None:
        """Stop the spawner (it kills the process groups of runs still going)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await proc.wait()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)


class SpawnerPool:
    """``count`` spawner processes taking runs in turn: one process spends most of its time
    waiting in ``posix_spawn`` while the kernel execs, so two keep two cores busy."""

    def __init__(
        self,
        count: int,
        *,
        enabled: bool = True,
        concurrency: int = 64,
        max_output: int = MAX_OUTPUT,
        kill_grace: float = 1.0,
    ) -> None:
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        share = -(-concurrency // count)
        self.enabled = enabled
        self.concurrency = concurrency
        self._clients = [
            SpawnerClient(
                enabled=enabled, concurrency=share, max_output=max_output, kill_grace=kill_grace
            )
            for _ in range(count)
        ]
        self._turn = itertools.cycle(self._clients)

    @property
    def started(self) -> int:
        """Runs handed to the spawners."""
        return sum(c.started for c in self._clients)

    async def execute(
        self, argv: Sequence[str], time_limit: float, env: Mapping[str, str] | None = None
    ) -> Execution:
        """Run ``argv`` in the next spawner; see :meth:`Executor.execute`."""
        if not self.enabled:
            return Execution(tuple(argv), error=DISABLED)
        return await next(self._turn).execute(argv, time_limit, env)

    async def aclose(self) -> None:
        """Stop every spawner."""
        await asyncio.gather(*(c.aclose() for c in self._clients))


_MESSAGES = msgspec.msgpack.Decoder(Reply | Started)


def _execution(argv: tuple[str, ...], r: Reply) -> Execution:
    return Execution(
        argv,
        exit_code=r.exit_code,
        signal=r.signal,
        output=r.output,
        cut=r.cut,
        elapsed=r.elapsed,
        error=r.error,
        timed_out=r.timed_out,
    )


# ---------------------------------------------------------------------- the helper process
async def _serve(concurrency: int, max_output: int, kill_grace: float) -> None:
    executor = Executor(concurrency=concurrency, max_output=max_output, kill_grace=kill_grace)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, sys.stdout
    )
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    tasks: set[asyncio.Task[None]] = set()

    def send(message: Reply | Started) -> None:
        body = msgspec.msgpack.encode(message)
        writer.write(_HEADER.pack(len(body)) + body)

    async def run(request: Request) -> None:
        def started(pid: int) -> None:
            send(Started(request.id, pid))

        ex = await executor.execute(request.argv, request.time_limit, request.env, started)
        reply = Reply(
            request.id,
            ex.exit_code,
            ex.signal,
            ex.output,
            ex.cut,
            ex.elapsed,
            ex.error,
            ex.timed_out,
        )
        send(reply)

    try:
        while True:
            header = await reader.readexactly(_HEADER.size)
            body = await reader.readexactly(_HEADER.unpack(header)[0])
            task = asyncio.create_task(run(msgspec.msgpack.decode(body, type=Request)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    except asyncio.IncompleteReadError:
        pass  # the site closed our stdin
    for task in list(tasks):
        task.cancel()  # Executor kills the process group of a cancelled run
    await asyncio.gather(*tasks, return_exceptions=True)


def main(argv: list[str]) -> None:
    concurrency, max_output, kill_grace = int(argv[0]), int(argv[1]), float(argv[2])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the site decides when we stop
    os.environ.clear()
    asyncio.run(_serve(concurrency, max_output, kill_grace))


if __name__ == "__main__":
    main(sys.argv[1:])
