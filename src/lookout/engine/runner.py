"""The one async runner per site: applies inputs, makes them durable, checkpoints, ticks.

Path of every input (a batch of results, an action, a clock tick):

1. ``submit`` applies it to the :class:`Engine` at once (in the event loop, no awaits) and
   queues its msgpack body for the journal;
2. the writer task takes everything queued, appends it to the journal in one transaction on
   the writer thread (group commit), then resolves the submitters' futures: only now does the
   API answer 2xx — and publishes the events on the bus;
3. every ``checkpoint_interval`` the writer also persists the changed statuses, events,
   downtimes, comments and metric points with the journal position they cover, in the same
   transaction, and drops the covered journal rows.

A restart loads the last checkpoint and replays the journal after it through the same engine
code, with the recorded times, so every accepted input is reflected again. If the database
refuses a write the runner stops accepting input (state in memory would be ahead of disk).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import msgspec

from lookout.domain.events import Event
from lookout.domain.values import TIME_MAX
from lookout.engine import inputs as inp
from lookout.engine.bus import EventBus
from lookout.engine.core import Engine
from lookout.engine.persist import status_from_row, status_row
from lookout.engine.status import Status
from lookout.errors import StorageError, TemporaryFailure
from lookout.storage.store import SiteStore, Snapshot

log = logging.getLogger(__name__)

WRITE_FAILED = (
    "could not write to the site database; the reason is in the site's log "
    "(and on /readyz for admins)"
)
"""What a writer is told: the database's own message holds SQL and row data."""
REFUSING = f"site is not accepting input: {WRITE_FAILED}"

GATHER_TURNS = 8
"""Event-loop turns the writer waits after the first input before it commits."""
INLINE_COMMIT_BYTES = 32 * 1024
"""Journal appends up to this size are written from the event loop (SQLite only)."""


@dataclass(frozen=True, slots=True)
class RunnerSettings:
    checkpoint_interval: float = 10.0
    """Seconds between checkpoints."""
    checkpoint_after_inputs: int = 20_000
    """Checkpoint early after this many journaled inputs (bounds replay time)."""
    tick_interval: float = 1.0
    """Seconds between clock ticks (staleness, expiry, downtimes)."""
    event_retention: float = 90 * 86400.0
    """Seconds to keep the event log."""
    prune_interval: float = 3600.0
    """Seconds between retention passes over events and metric points."""
    overload_after: float = 5.0
    """Seconds a commit may run before doors refuse new input (``SiteRunner.overloaded``)."""


class SiteRunner:
    def __init__(
        self,
        engine: Engine,
        store: SiteStore,
        bus: EventBus,
        settings: RunnerSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.store = store
        self.bus = bus
        self.settings = settings or RunnerSettings()
        self.clock = clock
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lookout-writer")
        self._pending: list[tuple[float, bytes]] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._checkpoint_due = False
        self._inputs_since_checkpoint = 0
        self._recent_events: list[Event] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._last_prune = 0.0
        self.failed: str | None = None
        self.quarantined = 0
        """Journal entries set aside at start-up, and checkpoints that had to be repaired."""
        self.replayed = 0
        self.commits = 0
        self._commit_since: float | None = None
        """``time.monotonic()`` when the commit in flight on the writer thread began."""
        self.started = False
        self.before_checkpoint: Callable[[], None] | None = None
        """Called just before a checkpoint clears ``engine.dirty`` (the change feed's sweep)."""

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        loaded = await loop.run_in_executor(self._thread, self.store.load)
        eng = self.engine
        statuses = _statuses(loaded.status_rows)
        eng.next_id = loaded.next_id
        eng.started_at = loaded.started_at  # the previous start: replay judges as it did
        for dt in loaded.downtimes:
            eng.downtimes[dt.id] = dt
        for c in loaded.comments:
            eng.comments[c.id] = c
        for h in loaded.hosts:
            eng.put_host(h, self.clock(), statuses.get((h.name, "")))
        for s in loaded.services:
            eng.put_service(s, self.clock(), statuses.get((s.host, s.name)))
        eng.dirty.difference_update(statuses.values())
        # replay re-applies what happened: nothing is run again (rechecks, event handlers)
        on_recheck, eng.on_recheck = eng.on_recheck, None
        on_state, eng.on_state = eng.on_state, None
        for seq, at, body in loaded.journal:
            self._replay(seq, at, body)
        eng.on_recheck, eng.on_state = on_recheck, on_state
        self.replayed = len(loaded.journal)
        # The site's own downtime is not its services' fault: staleness counts from now. The
        # start-up checkpoint below keeps this time, so a later replay judges the same way.
        eng.resume(self.clock())
        self._last_prune = self.clock()  # retention passes run later, not in start-up
        if self.replayed:
            log.info("replayed %d journal entries", self.replayed)
        await self.checkpoint()
        self._tasks = [
            asyncio.create_task(self._writer_loop(), name="lookout-writer"),
            asyncio.create_task(self._clock_loop(), name="lookout-clock"),
        ]
        self.started = True

    def _replay(self, seq: int, at: float, body: bytes) -> None:
        """Apply one journal entry again; one that cannot be applied is set aside with a
        quarantine event (the start-up checkpoint then drops it from the journal) instead of
        keeping the site from starting."""
        eng = self.engine
        try:
            item = inp.decode(body)
        except msgspec.ValidationError as exc:  # e.g. a metric beyond the bounds of today
            self._quarantine(seq, at, f"journal entry {seq} holds a value out of range: {exc}")
            return
        except Exception as exc:
            self._quarantine(seq, at, f"journal entry {seq} is unreadable: {exc}")
            return
        problem = inp.problem(item)
        if problem is not None:
            where = ".".join(map(str, problem.loc))
            self._quarantine(seq, at, f"journal entry {seq}: {where}: {problem.msg}", item)
            return
        try:
            eng.apply(item)
        except Exception as exc:
            log.exception("journal entry %d failed to replay", seq)
            self._quarantine(seq, at, f"journal entry {seq} failed: {exc!r}", item)

    def _quarantine(self, seq: int, at: float, reason: str, item: inp.Input | None = None) -> None:
        host, service = inp.first_key(item) if item is not None else ("", "")
        log.error("quarantined %s", reason)
        self.quarantined += 1
        when = at if 0 <= at <= TIME_MAX else self.clock()
        self.engine.apply(
            inp.Quarantine(
                at=when,
                source="journal",
                reason=reason,
                host=host,
                service=service,
                detail=inp.describe(item) if item is not None else "",
            )
        )

    async def stop(self) -> None:
        if not self._tasks:
            return
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        with contextlib.suppress(Exception):
            await self.checkpoint()
        await asyncio.get_running_loop().run_in_executor(self._thread, self.store.close)
        self._thread.shutdown(wait=True)

    # ------------------------------------------------------------------ input
    def submit(self, item: inp.Input) -> tuple[Any, asyncio.Future[None]]:
        """Apply ``item`` now; the future resolves once it is durable."""
        if self.failed is not None:
            raise TemporaryFailure(REFUSING, retry_after=5)
        outcome = self.engine.apply(item)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((self.clock(), inp.encode(item)))
        self._waiters.append(fut)
        self._inputs_since_checkpoint += 1
        if self._inputs_since_checkpoint >= self.settings.checkpoint_after_inputs:
            self._checkpoint_due = True
        self._wake.set()
        return outcome, fut

    async def apply(self, item: inp.Input) -> Any:
        """Apply ``item`` and wait until it is durable."""
        outcome, fut = self.submit(item)
        await fut
        return outcome

    async def checkpoint(self) -> None:
        """Persist a snapshot now (waits for it)."""
        self._checkpoint_due = False
        await self._commit(self._take_batch(), self._take_snapshot())

    # ------------------------------------------------------------------ writer
    def _take_batch(
        self,
    ) -> tuple[list[tuple[float, bytes]], list[asyncio.Future[None]], list[Event]]:
        events = self.engine.take_events()
        self._recent_events.extend(events)
        batch = (self._pending, self._waiters, events)
        self._pending, self._waiters = [], []
        return batch

    def _take_snapshot(self) -> Snapshot:
        if self.before_checkpoint is not None:
            self.before_checkpoint()
        eng = self.engine
        now = self.clock()
        events, self._recent_events = self._recent_events, []
        prune = now - self._last_prune >= self.settings.prune_interval
        if prune:
            self._last_prune = now
        snap = Snapshot(
            status_rows=[status_row(st) for st in eng.dirty],
            deleted=list(eng.deleted),
            events=events,
            downtimes=list(eng.downtimes.values()) if eng.downtimes_changed else None,
            comments=list(eng.comments.values()) if eng.comments_changed else None,
            next_id=eng.next_id,
            started_at=eng.started_at,
            points=self.store.series.take_pending(keep_visible=True),
            at=now,
            prune_events_before=now - self.settings.event_retention if prune else None,
            prune_metrics=prune,
        )
        eng.dirty.clear()
        eng.deleted.clear()
        eng.downtimes_changed = eng.comments_changed = False
        self._inputs_since_checkpoint = 0
        return snap

    async def _commit(
        self,
        batch: tuple[list[tuple[float, bytes]], list[asyncio.Future[None]], list[Event]],
        snap: Snapshot | None,
    ) -> None:
        bodies, waiters, events = batch
        loop = asyncio.get_running_loop()
        try:
            if (
                snap is None
                and self.store.inline_commits
                and sum(len(b) for _, b in bodies) <= INLINE_COMMIT_BYTES
            ):
                # A small journal append on SQLite takes ~0.1 ms: cheaper than two thread
                # hops. Big ones go to the writer thread, so parsing goes on meanwhile.
                self.store.commit(bodies, None)
            else:
                self._commit_since = time.monotonic()
                try:
                    await loop.run_in_executor(self._thread, self.store.commit, bodies, snap)
                finally:
                    self._commit_since = None
        except StorageError as exc:
            self.failed = str(exc)
            log.critical("site database write failed, refusing input: %s", exc)
            for fut in waiters:
                if not fut.done():
                    fut.set_exception(TemporaryFailure(WRITE_FAILED, retry_after=5))
            raise
        self.commits += 1
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)
        self.bus.publish(events)
        if self.store.repairs:
            self._report_repairs()

    def _report_repairs(self) -> None:
        """Say what a checkpoint had to change to be stored: a log line and an event."""
        notes, self.store.repairs = self.store.repairs, []
        for note in notes:
            log.error("%s", note)
            self.quarantined += 1
            self.submit(
                inp.Quarantine(
                    at=self.clock(), source="checkpoint", reason=note[:4000], detail=note
                )
            )

    async def _writer_loop(self) -> None:
        while True:
            await self._wake.wait()
            # Group commit: let the requests that are already readable reach submit() first,
            # so that one commit carries them all (a few loop turns, no timer).
            for _ in range(GATHER_TURNS):
                await asyncio.sleep(0)
            self._wake.clear()
            snap = None
            batch = self._take_batch()
            if self._checkpoint_due:
                self._checkpoint_due = False
                snap = self._take_snapshot()
            if not batch[0] and snap is None:
                self.bus.publish(batch[2])
                continue
            try:
                await self._commit(batch, snap)
            except StorageError:
                return

    async def _clock_loop(self) -> None:
        last_checkpoint = self.clock()
        while True:
            await asyncio.sleep(self.settings.tick_interval)
            now = self.clock()
            try:
                if self.failed is None and self.engine.tick(now):
                    self.submit_tick(now)
            except Exception:  # the clock must keep going
                log.exception("tick failed")
            if now - last_checkpoint >= self.settings.checkpoint_interval:
                last_checkpoint = now
                self._checkpoint_due = True
                self._wake.set()

    def submit_tick(self, at: float) -> None:
        """Journal a tick that was already applied (it changed something)."""
        self._pending.append((at, inp.encode(inp.Tick(at))))
        self._inputs_since_checkpoint += 1
        self._wake.set()

    def overloaded(self) -> float | None:
        """Seconds to wait before sending more input when the writer is behind (a commit has
        run longer than ``overload_after``: what is submitted now would wait at least that
        long), else None. Doors answer 503 with ``Retry-After`` then, taking nothing, instead
        of letting answers wait for seconds."""
        since = self._commit_since
        if since is None:
            return None
        busy = time.monotonic() - since
        if busy < self.settings.overload_after:
            return None
        return float(max(1, round(busy / 2)))

    # ------------------------------------------------------------------ reads
    def recent_events(self) -> list[Event]:
        """Events committed (or applied) but not yet in the event table."""
        return self._recent_events + self.engine.events

    @property
    def journal_backlog(self) -> int:
        return len(self._pending)


def _statuses(rows: list[Any]) -> dict[tuple[str, str], Status]:
    """Stored statuses; a row that cannot be read is left out (its object starts PENDING and
    the journal replay brings what came after the checkpoint) instead of stopping the site."""
    out: dict[tuple[str, str], Status] = {}
    for r in rows:
        try:
            out[(r[0], r[1])] = status_from_row(r)
        except Exception:
            log.exception("stored status of %s/%s is unreadable; starting it afresh", r[0], r[1])
    return out
