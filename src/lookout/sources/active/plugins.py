"""Run programs (Nagios plugins, later event handlers) without a shell and without stalling
the event loop.

:class:`Executor` is the one place where the site starts a program:

- ``os.posix_spawn`` (vfork + exec in glibc: no copy of the site's memory) with
  ``setsid``, so the program leads its own process group; stdin is ``/dev/null``; stdout and
  stderr share one pipe; the environment is minimal (``PATH``, ``LANG=C``). Descriptors the
  site opened are not inherited (Python opens them close-on-exec).
- The pipe and a pidfd of the child are watched by the event loop (``add_reader``): no thread
  and no child watcher per run.
- Output beyond ``max_output`` bytes is read and thrown away (the program never blocks on a
  full pipe) and the execution is marked ``cut``.
- At the timeout the whole process group gets SIGTERM, then SIGKILL after ``kill_grace``.
- At most ``concurrency`` programs run at once; the others wait for a slot.
- When ``enabled`` is false nothing is ever spawned: every run answers
  ``"execution disabled on this site"`` (the site's one execution switch).

:class:`CommandRunner` adds command definitions and the resource file's ``$USERn$`` macros:
``run_command(name, macros, timeout)`` looks the command up, expands its argv and executes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from lookout.domain.commands import MAX_OUTPUT, Command, Execution, expand, resource_macros
from lookout.sources.active.resources import ResourceFile

DISABLED = "execution disabled on this site"
"""The answer of every run while the execution switch is off."""
ENV_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_READ = 65536


class Executor:
    """Runs argv lists; ``execute`` never raises for a program that fails or cannot start."""

    def __init__(
        self,
        *,
        enabled: bool = True,
        concurrency: int = 64,
        max_output: int = MAX_OUTPUT,
        kill_grace: float = 1.0,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.enabled = enabled
        self.concurrency = concurrency
        self._max_output = max_output
        self._kill_grace = kill_grace
        self._timer = timer
        self._slots = asyncio.Semaphore(concurrency)
        self.started = 0
        """Programs started since the executor was made."""

    async def execute(
        self,
        argv: Sequence[str],
        time_limit: float,
        env: Mapping[str, str] | None = None,
        on_start: Callable[[int], None] | None = None,
    ) -> Execution:
        """Run ``argv`` (``argv[0]`` an absolute path) for at most ``time_limit`` seconds; then
        its process group is killed and the execution says it timed out. ``on_start`` hears
        the program's pid (its process group) once it runs."""
        words = tuple(argv)
        if not self.enabled:
            return Execution(words, error=DISABLED)
        if not words or not words[0].startswith("/"):
            shown = words[0] if words else ""
            return Execution(words, error=f"program {shown!r} is not an absolute path")
        async with self._slots:
            run = _Run(self, words, time_limit, _environment(env))
            return await run.result(on_start)

    async def aclose(self) -> None:
        """Nothing to release (runs in progress end with their callers)."""


def _environment(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {"PATH": ENV_PATH, "LANG": "C", "LC_ALL": "C"}
    if extra:
        env.update(extra)
    return env


class _Run:
    """One program from spawn to the end of its output and its exit."""

    def __init__(
        self, executor: Executor, argv: tuple[str, ...], timeout: float, env: dict[str, str]
    ) -> None:
        self._x = executor
        self._argv = argv
        self._timeout = timeout
        self._env = env
        self._loop = asyncio.get_running_loop()
        self._chunks: list[bytes] = []
        self._kept = 0
        self._cut = False
        self._eof = self._loop.create_future()
        self._exited: asyncio.Future[int] = self._loop.create_future()

    async def result(self, on_start: Callable[[int], None] | None = None) -> Execution:
        started = self._x._timer()
        try:
            pid, read_fd = self._spawn()
        except OSError as exc:
            return Execution(self._argv, error=_spawn_error(self._argv[0], exc))
        except ValueError as exc:  # a NUL character in a word
            return Execution(self._argv, error=f"plugin {self._argv[0]} cannot be started: {exc}")
        self._x.started += 1
        if on_start is not None:
            on_start(pid)
        timed_out = False
        pidfd = self._watch(pid, read_fd)
        try:
            try:
                async with asyncio.timeout(self._timeout):
                    await asyncio.wait((self._eof, self._exited))  # wait: never cancels them
            except TimeoutError:
                timed_out = True
                await self._stop_group(pid)
        finally:
            self._unwatch(read_fd, pidfd)
            if not self._exited.done():  # cancelled: do not leave the group running
                _kill_group(pid, signal.SIGKILL)
                await asyncio.to_thread(_reap, pid)
        elapsed = self._x._timer() - started
        return self._execution(self._exited.result(), elapsed, timed_out)

    def _spawn(self) -> tuple[int, int]:
        read_fd, write_fd = os.pipe()
        try:
            pid = os.posix_spawn(
                self._argv[0],
                self._argv,
                self._env,
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_DUP2, write_fd, 1),
                    (os.POSIX_SPAWN_DUP2, write_fd, 2),
                ],
                setsid=True,
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        os.set_blocking(read_fd, False)
        return pid, read_fd

    def _watch(self, pid: int, read_fd: int) -> int | None:
        self._loop.add_reader(read_fd, self._on_output, read_fd)
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):  # no pidfd (old kernel): wait in a thread
            task = asyncio.ensure_future(asyncio.to_thread(_reap, pid))
            task.add_done_callback(lambda t: self._set_exit(t.result()))
            return None
        self._loop.add_reader(pidfd, self._on_exit, pid, pidfd)
        return pidfd

    def _unwatch(self, read_fd: int, pidfd: int | None) -> None:
        self._loop.remove_reader(read_fd)
        os.close(read_fd)
        if not self._eof.done():
            self._eof.set_result(None)
        if pidfd is not None:
            self._loop.remove_reader(pidfd)
            os.close(pidfd)

    def _on_output(self, fd: int) -> None:
        try:
            data = os.read(fd, _READ)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._loop.remove_reader(fd)
            if not self._eof.done():
                self._eof.set_result(None)
            return
        room = self._x._max_output - self._kept
        if len(data) > room:
            self._cut = True
            data = data[:room]
        if data:
            self._chunks.append(data)
            self._kept += len(data)

    def _on_exit(self, pid: int, pidfd: int) -> None:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # reaped by someone else: the status is lost
            done, status = pid, -1
        if done:
            self._loop.remove_reader(pidfd)
            self._set_exit(status)

    def _set_exit(self, status: int) -> None:
        if not self._exited.done():
            self._exited.set_result(status)

    async def _stop_group(self, pid: int) -> None:
        """SIGTERM to the group, SIGKILL after the grace; wait for the leader's exit."""
        _kill_group(pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._x._kill_grace):
                await asyncio.shield(self._exited)
                return
        _kill_group(pid, signal.SIGKILL)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._x._kill_grace):
                await asyncio.shield(self._exited)
        _kill_group(pid, signal.SIGKILL)  # stragglers that ignored SIGTERM

    def _execution(self, status: int, elapsed: float, timed_out: bool) -> Execution:
        output = b"".join(self._chunks).decode("utf-8", errors="replace")
        code = os.waitstatus_to_exitcode(status) if status >= 0 else -1
        if timed_out:
            return Execution(
                self._argv,
                output=output,
                cut=self._cut,
                elapsed=elapsed,
                error=f"timed out after {self._timeout:g} s",
                timed_out=True,
            )
        if code < 0:
            return Execution(
                self._argv, signal=-code, output=output, cut=self._cut, elapsed=elapsed
            )
        return Execution(self._argv, exit_code=code, output=output, cut=self._cut, elapsed=elapsed)


def _kill_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _reap(pid: int) -> int:
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return -1


def _spawn_error(program: str, exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return f"plugin {program} not found"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"plugin {program} is not executable (permission denied)"
    if exc.errno == errno.ENOEXEC:
        return f"plugin {program} is not a program this machine can run (exec format error)"
    return f"plugin {program} could not be started: {os.strerror(exc.errno or 0) or exc}"


class ProgramExecutor(Protocol):
    """:class:`Executor`, or ``spawner.SpawnerClient`` that runs it in a helper process."""

    enabled: bool

    async def execute(
        self, argv: Sequence[str], time_limit: float, env: Mapping[str, str] | None = None
    ) -> Execution:
        """Run ``argv`` for at most ``time_limit`` seconds; never raises."""
        ...

    async def aclose(self) -> None:
        """Stop what the executor started for itself (a helper process)."""
        ...


class CommandRunner:
    """Command definitions + ``$USERn$`` macros + a :class:`ProgramExecutor`."""

    def __init__(
        self,
        executor: ProgramExecutor,
        user_macros: Mapping[str, str] | None = None,
        resources: ResourceFile | None = None,
    ) -> None:
        self.executor = executor
        self.commands: dict[str, Command] = {}
        """The site's command definitions by name (the site keeps them current)."""
        self._user_macros = dict(user_macros or resource_macros(None))
        self.resources = resources
        """A resource file read again when it changes (then ``user_macros`` is ignored)."""

    @property
    def user_macros(self) -> dict[str, str]:
        """The ``$USERn$`` macros now."""
        return self.resources.current() if self.resources is not None else self._user_macros

    @property
    def enabled(self) -> bool:
        """The execution switch."""
        return self.executor.enabled

    def argv(self, name: str, macros: Mapping[str, str]) -> tuple[str, ...] | None:
        """The expanded argv of command ``name`` (None when there is no such command)."""
        command = self.commands.get(name)
        if command is None:
            return None
        return expand(command.argv, {**self.user_macros, **macros})

    async def run_command(
        self, name: str, macros: Mapping[str, str], time_limit: float
    ) -> Execution:
        """Run command ``name`` with ``macros`` (``HOSTNAME``, ``ARG1``, … without ``$``)."""
        if not self.executor.enabled:
            return Execution((), error=DISABLED)
        argv = self.argv(name, macros)
        if argv is None:
            return Execution((), error=f"command {name!r} is not defined on this site")
        return await self.executor.execute(argv, time_limit)


def read_resource_file(path: Path) -> dict[str, str]:
    """The ``$USERn$`` macros of the resource file at ``path`` (the default when absent)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return resource_macros(None)
    return resource_macros(text)
