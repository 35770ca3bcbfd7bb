"""Which process runs the site: on PostgreSQL the one holding the site lock.

``lookout serve`` on PostgreSQL takes the site lock (:mod:`lookout.storage.sitelock`) before
the site starts (migration, checkpoint, journal replay, doors). When another process holds
it, this one is the *standby*: settings loaded, libraries imported, its HTTP listener up but
answering only ``/healthz`` (200), ``/readyz`` (503), ``/metrics`` and ``GET /api/v1/site``;
it tries the lock every ``poll_interval`` and starts the site as soon as it gets it. The
agent receiver and Livestatus do not listen until then.

The active process looks at the lock's connection every ``watch_interval``; when it fails or
stays silent for ``lost_after`` seconds the process refuses input at once and calls
``on_lost`` (``lookout serve`` exits; restarted, it waits as the standby). SQLite sites take
no lock and start at once, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from lookout.errors import StorageError
from lookout.storage.sitelock import SiteLock

if TYPE_CHECKING:
    from lookout.sites.site import Site

log = logging.getLogger(__name__)


class Role(StrEnum):
    STARTING = "starting"
    """Taking the lock, or starting the site once it has it."""
    STANDBY = "standby"
    """Another process holds the lock: waiting to take over."""
    ACTIVE = "active"


def _ignore(reason: str) -> None:
    """The default ``on_lost``: the runner refuses input; nothing else happens."""


class Standby:
    """Starts the site when it may, and watches the lock while it runs."""

    def __init__(self, site: Site, on_lost: Callable[[str], None] = _ignore) -> None:
        self.site = site
        self.settings = site.settings.standby
        url = site.settings.database(site.dir)
        self.lock = (
            SiteLock(url, site.settings.site_name) if site.db.dialect.name == "postgresql" else None
        )
        """None on SQLite (no standby there)."""
        self.on_lost = on_lost
        """Called when the active process lost the lock, or a standby could not start."""
        self.role = Role.STARTING
        self.since = time.time()
        """When the process took its current role (wall clock)."""
        self.waited = 0.0
        """Seconds this process waited as the standby before it took the lock."""
        self._task: asyncio.Task[None] | None = None
        self._site_started = False
        self._launched = False

    @property
    def active(self) -> bool:
        return self.role is Role.ACTIVE

    @property
    def doors_shut(self) -> bool:
        """From :meth:`launch` until the site runs: only the ops doors answer."""
        return self._launched and self.role is not Role.ACTIVE

    # ------------------------------------------------------------------ life cycle
    def shut_doors(self) -> None:
        """Answer only the ops doors from now until the site runs (:meth:`launch` does this
        too; ``lookout serve`` calls it first, as its ingest fronts start beside the launch)."""
        self._launched = True

    async def launch(self) -> None:
        """Start the site now when it may (SQLite, or the lock is free); else become the
        standby and wait for the lock in the background."""
        self._launched = True
        if self.lock is None:
            await self._start(None)
            return
        conn = await asyncio.to_thread(self.lock.try_acquire)
        if conn is not None:
            await self._start(conn)
            return
        self._take(Role.STANDBY)
        log.warning("another process holds the site lock: waiting as the standby")
        await asyncio.to_thread(self.site.reload_tokens)  # GET /api/v1/site answers meanwhile
        self._task = asyncio.create_task(self._wait_then_start(), name="lookout-standby")

    async def stop(self) -> None:
        """Stop what runs: the site (which releases the lock with its journal's connection) or
        the wait for the lock."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._site_started:
            self._site_started = False
            await self.site.stop()
        else:
            self.site.db.dispose()
        if self.lock is not None:
            await asyncio.to_thread(self.lock.close)

    async def _wait_then_start(self) -> None:
        assert self.lock is not None
        began = time.monotonic()
        while True:
            await asyncio.sleep(self.settings.poll_interval)
            try:
                conn = await asyncio.to_thread(self.lock.try_acquire)
            except sa.exc.SQLAlchemyError as exc:
                log.warning("cannot try the site lock: %s", str(exc).splitlines()[0])
                continue
            if conn is not None:
                break
        self.waited = time.monotonic() - began
        log.warning("took the site lock after %.1f s as the standby: starting", self.waited)
        try:
            await self._start(conn)
        except Exception as exc:
            log.exception("the site could not start")
            self.on_lost(f"the site could not start: {exc}")

    async def _start(self, conn: sa.Connection | None) -> None:
        self._take(Role.STARTING)
        if conn is not None:
            assert self.lock is not None
            self.site.store.adopt_writer(conn, self.lock.key)
        self._site_started = True
        await self.site.start()  # ends with running()
        if conn is not None:
            self._task = asyncio.create_task(self._watch(), name="lookout-site-lock")

    def running(self) -> None:
        """The site has started in this process (the end of ``Site.start``): it is active."""
        self._take(Role.ACTIVE)

    def _take(self, role: Role) -> None:
        self.role = role
        self.since = time.time()

    # ------------------------------------------------------------------ the active process
    async def _watch(self) -> None:
        runner, store = self.site.runner, self.site.store
        while True:
            await asyncio.sleep(self.settings.watch_interval)
            if runner.writer_busy:
                continue  # a commit is on the connection: it fails if the lock is gone
            try:
                async with asyncio.timeout(self.settings.lost_after):
                    await runner.on_writer(store.ping)
            except StorageError as exc:
                self._lost(str(exc))
                return
            except TimeoutError:
                silent = self.settings.lost_after
                self._lost(f"the site lock's connection did not answer in {silent:g} s")
                return

    def _lost(self, reason: str) -> None:
        self.site.runner.failed = reason  # refuse input from now on
        log.critical("%s: this process stops serving the site", reason)
        self.on_lost(reason)

    # ------------------------------------------------------------------ what it says
    def info(self) -> dict[str, Any]:
        """The role for ``GET /api/v1/site``: role, since, and who holds the lock."""
        answer: dict[str, Any] = {
            "role": self.role.value,
            "since": self.since,
            "standby_supported": self.lock is not None,
            "waited": round(self.waited, 3),
            "lock_holder": None,
        }
        if self.lock is not None:
            try:
                answer["lock_holder"] = self.lock.holder()
            except sa.exc.SQLAlchemyError as exc:
                answer["lock_holder"] = {"error": str(exc).splitlines()[0]}
        return answer
