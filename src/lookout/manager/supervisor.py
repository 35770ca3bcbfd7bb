"""``lookout sites serve ROOT``: one long-running process that owns the sites' processes.

It imports the site code once and forks each site from itself, so a new site answers in a
fraction of a second and the sites share the imported code's memory pages. It starts every
site whose record says ``running``, reaps one that dies and starts it again (at once the
first time, backing off up to a minute while it keeps crashing; ``list`` shows the crashes in
a row) unless an update of it is under way (``ROOT/state/NAME.update``: the update starts it,
or restores it; a killed update leaves it alone until run again), and takes the CLI's changes
over a Unix socket (``ROOT/run/manager.sock``, 0600): one JSON request line, one JSON answer
line. It is single-threaded, as forking requires.
Stopped with SIGTERM, it stops its sites; their records still say ``running``, so the next
supervisor starts them again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lookout import errors
from lookout.manager.client import SOCKET, Client, connect
from lookout.manager.manager import Manager
from lookout.manager.processes import alive, fork_launcher, reap, started_at, stop_process
from lookout.manager.root import Root

log = logging.getLogger(__name__)
RESTART_DELAY = 10.0
"""Seconds between attempts to start the front door."""
RESTART_DELAYS = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
"""Seconds before a crashed site is started again, by its crashes in a row (the last one
repeats): the first crash is restarted at once, a crash loop slows down to once a minute."""
STABLE_AFTER = 60.0
"""Seconds a site must run after a crash before its count of crashes in a row starts again."""
DOOR_LOG = "door.log"
BACKUP_RETRY = 1.0
"""Seconds before a site's scheduled backup is tried again (it is due again only after
``backup_every`` once it worked)."""


def _run_doors(root: Root) -> Callable[[Path], None]:
    def run(_: Path) -> None:
        from lookout.manager.doors import run_doors

        run_doors(root)

    return run


class Supervisor:
    def __init__(self, root: Root, run_site: Callable[[Path], None]) -> None:
        self.root = root
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._conn: socket.socket | None = None
        self.manager = Manager(root, fork_launcher(run_site, self._close_in_child))
        self._door_launch = fork_launcher(_run_doors(root), self._close_in_child, DOOR_LOG)
        self._door: tuple[int, float | None] | None = None
        self._door_tried = -RESTART_DELAY
        self.stopping = False
        self._due: dict[str, float] = {}
        """When a crashed site may be started again (monotonic clock)."""
        self._backed_up: dict[str, float] = {}

    def _close_in_child(self) -> None:
        self.sock.close()
        if self._conn is not None:
            self._conn.close()

    def serve(self) -> None:
        path = self.root.run / SOCKET
        if client_for(self.root) is not None:
            raise errors.ConfigError(f"a supervisor runs for {self.root.path} already")
        path.unlink(missing_ok=True)
        self.sock.bind(str(path))
        os.chmod(path, 0o600)
        self.sock.listen(16)
        self.sock.settimeout(0.5)
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        try:
            while not self.stopping:
                self._keep_door()
                self._keep_running()
                self._back_up()
                self._accept()
        finally:
            self.sock.close()
            path.unlink(missing_ok=True)
            if self._door is not None:
                stop_process(*self._door)
            for name in self.root.names():
                with contextlib.suppress(errors.LookoutError):
                    rec = self.root.record(name)
                    self.manager.end_process(rec)  # the record still says what is wanted

    def _stop(self, *_: object) -> None:
        self.stopping = True

    def _keep_door(self) -> None:
        """Start the front door (``[door]``), and again when it died."""
        door = self.root.settings.door
        if not (door.listen or door.agent_listen):
            return
        if self._door is not None:
            reap(self._door[0])
            if alive(*self._door):
                return
        if time.monotonic() - self._door_tried < RESTART_DELAY:
            return
        self._door_tried = time.monotonic()
        log.warning("starting the front door (log: %s)", self.root.run / DOOR_LOG)
        pid = self._door_launch(self.root.run, {})
        self._door = (pid, started_at(pid))

    def _keep_running(self) -> None:
        """Start the sites that should run and do not (at start, after a crash): a crashed
        site is reaped (no zombie stays) and started again after a delay that grows with its
        crashes in a row (``RESTART_DELAYS``)."""
        now = time.monotonic()
        for name in self.root.names():
            try:
                rec = self.root.record(name)
                how = reap(rec.pid) if rec.pid is not None else None
                if alive(rec.pid, rec.started):
                    if rec.crashes and time.time() - (rec.started or 0) >= STABLE_AFTER:
                        self.manager.stable(name)
                    continue
                if rec.wanted != "running" or self.root.updating(name):
                    continue  # an update stops and starts it (or restores it)
                if rec.pid is not None:  # it ran and ended: a crash
                    rec = self.manager.crashed(name, how or "ended")
                    log.error("site %s ended (%s), crash %d in a row", name, how, rec.crashes)
                    self._due[name] = now + restart_delay(rec.crashes)
                if now < self._due.get(name, 0.0):
                    continue
                log.warning("starting site %s", name)
                try:
                    self.manager.start(name)
                except errors.ConfigError as exc:  # it did not get ready: a crash too
                    rec = self.manager.crashed(name, "did not start")
                    self._due[name] = time.monotonic() + restart_delay(rec.crashes)
                    log.error("site %s did not start (crash %d): %s", name, rec.crashes, exc)
            except errors.LookoutError as exc:
                log.error("site %s does not start: %s", name, exc)

    def _back_up(self) -> None:
        """Scheduled backups (``backup_every``), one site per turn so requests still flow."""
        now = time.monotonic()
        due = self.manager.backups_due(time.time())
        for name in [n for n in due if now - self._backed_up.get(n, -BACKUP_RETRY) >= BACKUP_RETRY][
            :1
        ]:
            self._backed_up[name] = now
            try:
                made = self.manager.backup(name)
                log.info("scheduled backup of %s: %s", name, made.path.name)
            except (errors.LookoutError, OSError) as exc:
                log.error("scheduled backup of %s failed: %s", name, exc)

    def _accept(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except TimeoutError:
            return
        except InterruptedError:
            return
        self._conn = conn
        try:
            with conn:
                conn.settimeout(10)
                line = conn.makefile("rb").readline()
                conn.settimeout(None)
                conn.sendall(json.dumps(self._answer(line)).encode() + b"\n")
        except OSError as exc:
            log.warning("a request was lost: %s", exc)
        finally:
            self._conn = None

    def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
            result = self._do(str(request["op"]), request.get("args", {}))
        except errors.LookoutError as exc:
            problems = getattr(exc, "problems", [])
            return {
                "ok": False,
                "type": type(exc).__name__,
                "error": str(exc),
                "problems": problems,
            }
        except (ValueError, KeyError, TypeError) as exc:
            return {"ok": False, "type": "ConfigError", "error": f"bad request: {exc}"}
        return {"ok": True, "result": result}

    def _do(self, op: str, args: dict[str, Any]) -> Any:
        return call(self.manager, op, args)


def restart_delay(crashes: int) -> float:
    return RESTART_DELAYS[min(max(crashes, 1), len(RESTART_DELAYS)) - 1]


def call(manager: Manager, op: str, args: dict[str, Any]) -> Any:
    """Run operation ``op`` of ``manager``; a JSON-able answer. The CLI calls this directly
    when no supervisor runs."""
    name = str(args.get("name", ""))
    if op == "ping":
        return "pong"
    if op == "create":
        return asdict(manager.create(name))
    if op == "start":
        return asdict(manager.start(name))
    if op == "stop":
        return asdict(manager.stop(name))
    if op == "remove":
        final = manager.remove(name, purge=bool(args.get("purge")))
        return str(final.path) if final else None
    if op == "restore":
        source = Path(args["backup"]) if args.get("backup") else None
        return asdict(manager.restore(name, source, as_name=args.get("as_name")))
    if op == "update":
        from lookout.manager.update import update

        return update(manager, name, to=args.get("to") or None)
    raise errors.ConfigError(f"unknown operation {op!r}")


def client_for(root: Root) -> Client | None:
    """A connection to the root's supervisor, or None when none runs."""
    return connect(root.path)
