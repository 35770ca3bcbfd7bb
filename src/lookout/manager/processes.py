"""A site's own process: started as a ``lookout serve`` subprocess (by the CLI) or forked from
the supervisor (which has the site code imported already, so a site answers in well under a
second), stopped by its pid, and never confused with another process that reused the pid."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import httpx
import psutil

from lookout.errors import ConfigError
from lookout.manager.siteusers import drop_privileges, name_of, owner

SERVE_LOG = "serve.log"
SHARED_CORES = "LOOKOUT_MANAGED_SITE"
"""Set in the environment of every site a site manager starts: the sites share the machine's
cores, so ``ingest_fronts = "auto"`` starts none (``lookout serve`` reads it)."""
SERVE = (sys.executable, "-m", "lookout.cli.main", "serve")


class Launcher(Protocol):
    def __call__(self, site_dir: Path, env: Mapping[str, str]) -> int:
        """Start ``lookout serve site_dir`` with ``env`` added; its pid."""
        ...


def popen_launcher(site_dir: Path, env: Mapping[str, str]) -> int:
    """A detached ``python -m lookout.cli.main serve`` (its own session: it outlives the CLI),
    as the site's own user when there is one (``siteusers.owner``)."""
    return command_launcher(SERVE)(site_dir, env)


def command_launcher(command: Sequence[str], *, clean: bool = False) -> Launcher:
    """Start ``command SITE_DIR --log-level warning`` detached (its own session) as the site's
    own user when there is one, output in the site's ``serve.log``. ``clean``: without this
    process's ``PYTHONPATH`` and ``PYTHONHOME`` (another installed version must import its own
    code, not this one's)."""

    def launch(site_dir: Path, env: Mapping[str, str]) -> int:
        user = owner(site_dir)
        fd = _open_log(site_dir / SERVE_LOG, user)
        user_env, as_user = site_user(site_dir)
        with os.fdopen(fd, "ab") as log:
            proc = subprocess.Popen(
                [*command, str(site_dir), "--log-level", "warning"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**(clean_env() if clean else os.environ), **env, **user_env},
                start_new_session=True,
                **as_user,
            )
        return proc.pid

    return launch


def site_user(site_dir: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """What a subprocess needs to run as the site's own user (none: two empty dicts): its
    environment's additions and ``subprocess.Popen``'s arguments."""
    user = owner(site_dir)
    if user is None:
        return {}, {}
    name = name_of(user[0])
    env = {"HOME": str(site_dir), "USER": name, "LOGNAME": name}
    return env, {"user": user[0], "group": user[1], "extra_groups": [], "umask": 0o077}


def clean_env() -> dict[str, str]:
    """This process's environment without what would make another Python import this
    installation's code."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def _open_log(path: Path, user: tuple[int, int] | None) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    if user is not None:
        os.fchown(fd, *user)
    return fd


def fork_launcher(
    run: Callable[[Path], None], in_child: Callable[[], None], log_name: str = SERVE_LOG
) -> Launcher:
    """Fork this (single-threaded) process and ``run(site_dir)`` in the child: the site code
    is imported already, and its pages are shared with the parent until written.
    ``in_child`` first closes what the child must not keep (the parent's sockets). Output goes
    to ``site_dir/log_name``. The child runs as the site's own user when there is one
    (``siteusers.owner``): it drops root before it runs anything of the site's."""

    def launch(site_dir: Path, env: Mapping[str, str]) -> int:
        user = owner(site_dir)
        log = _open_log(site_dir / log_name, user)
        gc.freeze()  # the child's collections never walk (and so never copy) the parent's objects
        pid = os.fork()
        if pid:
            os.close(log)
            return pid
        code = 1
        try:  # the child: never returns into the parent's code
            in_child()
            os.setsid()
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGHUP):
                signal.signal(sig, signal.SIG_DFL)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.environ.update(env)
            if user is not None:
                drop_privileges(site_dir, *user)
            run(site_dir)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)

    return launch


def started_at(pid: int) -> float | None:
    """The start time of process ``pid`` (None: no such process, or a zombie)."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc.create_time()
    except psutil.Error:
        return None


def alive(pid: int | None, started: float | None) -> bool:
    """Whether ``pid`` is still the process that was started at ``started``."""
    return pid is not None and started is not None and started_at(pid) == started


def stop_process(pid: int, started: float | None, timeout: float = 20.0) -> None:
    """SIGTERM (a site checkpoints on the way out), SIGKILL after ``timeout`` s."""
    if not alive(pid, started):
        return
    os.kill(pid, signal.SIGTERM)
    if not _gone(pid, started, timeout):
        os.kill(pid, signal.SIGKILL)
        _gone(pid, started, 5.0)


def _gone(pid: int, started: float | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not alive(pid, started):
            return True
        time.sleep(0.02)
    return False


def reap(pid: int) -> str | None:
    """Collect ``pid`` if it is our child and has ended (it would stay a zombie otherwise);
    how it ended ("killed by SIGKILL", "exit code 1"), or None (running, or not our child)."""
    return _reap(pid)


def _reap(pid: int) -> str | None:
    """Collect ``pid`` if it is our child (it would stay a zombie otherwise)."""
    try:
        got, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    if got != pid:
        return None
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"killed by {signal.Signals(number).name}"
        except ValueError:
            return f"killed by signal {number}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


def wait_ready(url: str, pid: int, started: float | None, timeout: float, log: Path) -> None:
    """Until ``url``/readyz answers 200; a ConfigError with the log's tail when the process
    ends or ``timeout`` passes first."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1.0) as http:
        while time.monotonic() < deadline:
            try:
                if http.get(f"{url}/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            _reap(pid)
            if not alive(pid, started):
                raise ConfigError(f"the site's process ended: {_tail(log)}")
            time.sleep(0.01)
    raise ConfigError(f"the site did not answer {url}/readyz within {timeout:g} s: {_tail(log)}")


def _tail(log: Path) -> str:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(lines[-6:]) or "(empty log)"
