"""The one async runner per site: applies inputs, makes them durable, checkpoints, ticks.

Path of every input (a batch of results, an action, a clock tick):

1. ``submit`` applies it to the :class:`Engine` at once (in the event loop, no awaits), gives
   it the next journal sequence number and queues its msgpack body for the journal;
2. the writer task takes everything queued, appends it to the journal in one transaction on
   the journal thread (group commit), then resolves the submitters' futures: only now does
   the API answer 2xx — and publishes the events on the bus;
3. every ``checkpoint_interval`` (or ``checkpoint_after_results``) the writer takes a snapshot
   of what changed — statuses, events, downtimes, comments, metric points — in the event loop,
   between two inputs, with the sequence number it covers, and a checkpoint task writes it on
   a thread and connection of its own while appends go on; the covered journal rows are
   dropped with a later append. One checkpoint runs at a time.

A restart loads the last checkpoint and replays the journal after it through the same engine
code, with the recorded times, so every accepted input is reflected again. A checkpoint that
fails (the database is locked or away for a while) hands what it held back — statuses dirty
again, its events and metric points queued in front of the newer ones — and a later one, after
a backoff, writes it all: the journal keeps every answered input meanwhile, and its rows are
not dropped. Only when a *journal append* fails (or the site lock is lost) does the runner stop
accepting input: state in memory would be ahead of disk.
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
from lookout.storage import memory
from lookout.storage.journal import Fenced
from lookout.storage.store import SiteStore, Snapshot

log = logging.getLogger(__name__)

WRITE_FAILED = (
    "could not write to the site database; the reason is in the site's log "
    "(and on /readyz for admins)"
)
"""What a writer is told: the database's own message holds SQL and row data."""
REFUSING = f"site is not accepting input: {WRITE_FAILED}"

Batch = tuple[list[tuple[int, float, bytes]], list["asyncio.Future[None]"], list[Event]]
"""Journal entries ``(seq, at, body)``, the futures of their submitters, and their events."""

GATHER_TURNS = 8
"""Event-loop turns the writer waits at most after the first input before it commits."""
GATHER_MAX = 0.002
"""Seconds the oldest waiting input may have waited before the writer stops gathering and
commits: on a busy loop one turn runs other requests' work (tens of ms each), and eight
such turns made answers wait seconds for inputs that came after them."""
INLINE_COMMIT_BYTES = 32 * 1024
"""Journal appends up to this size are written from the event loop (SQLite only)."""
RETRY_FIRST = 1.0
"""Seconds before a failed checkpoint is tried again; doubled after each failure in a row."""
RETRY_MAX = 60.0
"""Longest wait between two tries of a failing checkpoint, in seconds."""


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
    overload_after: float = 0.5
    """Seconds an input may wait for its answer (to be journaled) before doors refuse new
    input (``SiteRunner.overloaded``): a slow append, or a loop too busy to commit."""
    checkpoint_after_results: int = 100_000
    """Checkpoint early after this many results (bounds a checkpoint's size and memory)."""
    checkpoint_busy_results: int = 10_000
    """Results since the last checkpoint from which the next one starts after half of
    ``checkpoint_interval``: what waits for a checkpoint (events, metric points, ~0.7 KiB
    per churn result) is most of a busy site's memory above idle, while an idle site keeps
    the longer interval (many sites on one machine)."""
    max_unsaved_results: int = 400_000
    """Results applied but not yet in a committed checkpoint above which doors refuse new
    input: the checkpoint falls behind, and memory would grow without bound."""


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
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lookout-journal")
        self._ck_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lookout-checkpoint")
        self._seq = 0
        """The journal sequence number of the last input applied."""
        self._pending: list[tuple[int, float, bytes]] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._journal_lock = asyncio.Lock()
        self._checkpoint_due = False
        self._inputs_since_checkpoint = 0
        self._results_since_snapshot = 0
        self._results_saving = 0
        self._snapshot_at = 0.0
        """``clock()`` of the last snapshot taken."""
        self._checkpointing: asyncio.Task[None] | None = None
        self._drop_through = 0
        """Journal entries up to here are covered by a committed checkpoint."""
        self._dropped = 0
        self._recent_events: list[Event] = []
        self._saving_events: list[Event] = []
        """Events of the checkpoint being written (shown until it is committed)."""
        self._tasks: list[asyncio.Task[None]] = []
        self._last_prune = 0.0
        self.failed: str | None = None
        """Why input is refused for good (a journal append failed, the site lock was lost)."""
        self.checkpoint_failures = 0
        """Checkpoints that failed and were handed back to be written later (a counter)."""
        self.checkpoint_trouble: str | None = None
        """The last checkpoint failure while the checkpoints fail in a row, else None."""
        self._failing = 0
        self._retry_at = 0.0
        """``time.monotonic()`` before which no checkpoint is started after a failure."""
        self.quarantined = 0
        """Journal entries set aside at start-up, and checkpoints that had to be repaired."""
        self.replayed = 0
        self.commits = 0
        self._commit_since: float | None = None
        """``time.monotonic()`` when the journal append in flight began."""
        self._pending_since: float | None = None
        """``time.monotonic()`` of the oldest input in ``_pending`` (None: none)."""
        self._appending_since: list[float] = []
        """The same for each batch taken and not yet answered (appends in flight)."""
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
        self._seq = self.store.last_seq
        # The site's own downtime is not its services' fault: staleness counts from now. The
        # start-up checkpoint below keeps this time, so a later replay judges the same way.
        eng.resume(self.clock())
        self._last_prune = self.clock()  # retention passes run later, not in start-up
        if self.replayed:
            log.info("replayed %d journal entries", self.replayed)
        await self.checkpoint(roll_up=False)  # downsampling waits for the next one
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
        self._ck_thread.shutdown(wait=True)

    # ------------------------------------------------------------------ input
    def submit(self, item: inp.Input) -> tuple[Any, asyncio.Future[None]]:
        """Apply ``item`` now; the future resolves once it is durable."""
        if self.failed is not None:
            raise TemporaryFailure(REFUSING, retry_after=5)
        outcome = self.engine.apply(item)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        if self._pending_since is None:
            self._pending_since = time.monotonic()
        self._pending.append((self._seq, self.clock(), inp.encode(item)))
        self._waiters.append(fut)
        self._inputs_since_checkpoint += 1
        if isinstance(item, inp.Results):
            self._results_since_snapshot += len(item.results)
        if (
            self._inputs_since_checkpoint >= self.settings.checkpoint_after_inputs
            or self._results_since_snapshot >= self.settings.checkpoint_after_results
        ):
            self._checkpoint_due = True
        self._wake.set()
        return outcome, fut

    async def apply(self, item: inp.Input) -> Any:
        """Apply ``item`` and wait until it is durable."""
        outcome, fut = self.submit(item)
        await fut
        return outcome

    async def checkpoint_soon(self) -> None:
        """Take a checkpoint now, the way the running writer does, and wait until it is
        stored (a backup of a running site then has nothing to replay)."""
        while self._checkpointing is not None:
            await asyncio.shield(self._checkpointing)
        if self.failed is not None:
            raise TemporaryFailure(WRITE_FAILED, retry_after=5)
        batch = self._take_batch()
        self._start_checkpoint()
        writing = self._checkpointing
        await asyncio.shield(asyncio.ensure_future(self._append(batch)))
        if writing is not None:
            await asyncio.shield(writing)
        if self.failed is not None or self.checkpoint_trouble is not None:
            raise TemporaryFailure(WRITE_FAILED, retry_after=5)

    async def checkpoint(self, *, roll_up: bool = True) -> None:
        """Persist a snapshot now (waits for it, and for the journal up to it); ``roll_up``:
        with a share of the metrics' downsampling."""
        while self._checkpointing is not None:
            await asyncio.shield(self._checkpointing)
        async with self._journal_lock:  # an append in flight (its loop was cancelled) ends
            pass
        self._checkpoint_due = False
        batch = self._take_batch()
        snap, seq = self._take_snapshot(), self._seq
        snap.roll_up = roll_up
        await self._append(batch)
        await self._write_checkpoint(snap, seq, raising=True)

    # ------------------------------------------------------------------ writer
    def _take_batch(self) -> Batch:
        events = self.engine.take_events()
        self._recent_events.extend(events)
        batch = (self._pending, self._waiters, events)
        self._pending, self._waiters = [], []
        if self._pending_since is not None:
            self._appending_since.append(self._pending_since)
            self._pending_since = None
        return batch

    def _take_snapshot(self) -> Snapshot:
        """What changed since the last snapshot: call right after ``_take_batch`` (no await
        in between), so that it covers exactly the inputs up to ``self._seq``."""
        if self.before_checkpoint is not None:
            self.before_checkpoint()
        eng = self.engine
        now = self.clock()
        self._snapshot_at = now
        events, self._recent_events = self._recent_events, []
        self._saving_events = events
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
        self._results_saving, self._results_since_snapshot = self._results_since_snapshot, 0
        return snap

    def _start_checkpoint(self) -> None:
        """Take a snapshot now and write it in the background (the caller has just taken
        the batch)."""
        self._checkpoint_due = False
        snap, seq = self._take_snapshot(), self._seq
        self._checkpointing = asyncio.create_task(
            self._write_checkpoint(snap, seq, raising=False), name="lookout-checkpoint"
        )

    async def _write_checkpoint(self, snap: Snapshot, seq: int, *, raising: bool) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._ck_thread, self.store.checkpoint, snap, seq)
        except Fenced as exc:
            self._fail(exc)  # another process runs the site now
            self._end_checkpoint()
            if raising:
                raise
            return
        except StorageError as exc:
            self._hand_back(snap, exc)
            self._end_checkpoint()
            if raising:
                raise
            return
        except BaseException:
            self._end_checkpoint()
            raise
        self._end_checkpoint()
        del snap  # its rows are written: free them before the trim
        await loop.run_in_executor(self._ck_thread, memory.trim)
        if self._failing:
            log.warning("checkpoint written again after %d failures in a row", self._failing)
        self._failing, self.checkpoint_trouble = 0, None
        self._drop_through = max(self._drop_through, seq)
        if self.store.repairs:
            self._report_repairs()
        if self._checkpoint_due:
            self._wake.set()

    def _end_checkpoint(self) -> None:
        self._saving_events = []
        self._results_saving = 0
        if self._checkpointing is asyncio.current_task():
            self._checkpointing = None

    def _hand_back(self, snap: Snapshot, exc: StorageError) -> None:
        """A checkpoint failed: give what it held back, so that the next one writes it with
        what came since (nothing lost, nothing twice), and let that one start after a backoff.
        Its journal rows stay (``_drop_through`` does not move), so a crash meanwhile loses
        nothing either. Call before ``_end_checkpoint`` (it moves the saving counters back)."""
        eng = self.engine
        for row in snap.status_rows:
            st = eng.status.get((row[0], row[1]))
            if st is not None:
                eng.dirty.add(st)  # written as it is then: the newest state
        for key in snap.deleted:
            if key not in eng.status:  # not made again meanwhile
                eng.deleted.add(key)
        self._recent_events[:0] = snap.events  # older than the ones taken since
        if snap.downtimes is not None:
            eng.downtimes_changed = True
        if snap.comments is not None:
            eng.comments_changed = True
        self.store.series.hand_back(snap.points)
        if snap.prune_events_before is not None or snap.prune_metrics:
            self._last_prune = 0.0  # the next checkpoint prunes
        self._results_since_snapshot += self._results_saving
        self._failing += 1
        self.checkpoint_failures += 1
        self.checkpoint_trouble = str(exc)
        wait = min(RETRY_MAX, RETRY_FIRST * 2 ** min(self._failing - 1, 16))
        self._retry_at = time.monotonic() + wait
        self._checkpoint_due = True
        asyncio.get_running_loop().call_later(wait, self._wake.set)
        log.error(
            "checkpoint failed (%d in a row), trying again in %.0f s; input is still taken "
            "and journaled: %s",
            self._failing,
            wait,
            exc,
        )

    def _fail(self, exc: StorageError) -> None:
        self.failed = str(exc)
        log.critical("site database write failed, refusing input: %s", exc)

    async def _append(self, batch: Batch) -> None:
        """Append ``batch`` to the journal, then answer its submitters."""
        entries, waiters, events = batch
        drop = 0
        if self.store.journal.separate and self._drop_through > self._dropped:
            drop = self._drop_through  # else the checkpoint dropped them in its transaction
        try:
            if entries or drop:
                async with self._journal_lock:
                    await self._append_locked(entries, waiters, drop)
        finally:
            if entries and self._appending_since:
                del self._appending_since[0]  # batches are appended in the order taken
        self.commits += 1 if entries else 0
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)
        self.bus.publish(events)

    async def _append_locked(
        self,
        entries: list[tuple[int, float, bytes]],
        waiters: list[asyncio.Future[None]],
        drop: int,
    ) -> None:
        journal = self.store.journal
        try:
            if self.store.inline_commits and sum(len(e[2]) for e in entries) <= INLINE_COMMIT_BYTES:
                # A small journal append on SQLite takes ~0.1 ms: cheaper than two thread
                # hops. Big ones go to the journal thread, so parsing goes on meanwhile.
                journal.append(entries, drop)
            else:
                self._commit_since = time.monotonic()
                try:
                    loop = asyncio.get_running_loop()
                    await loop.run_in_executor(self._thread, journal.append, entries, drop)
                finally:
                    self._commit_since = None
        except StorageError as exc:
            self._fail(exc)
            for fut in waiters:
                if not fut.done():
                    fut.set_exception(TemporaryFailure(WRITE_FAILED, retry_after=5))
            raise
        self._dropped = max(self._dropped, drop)
        if entries:
            self.store.last_seq = entries[-1][0]

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
            # so that one commit carries them all (a few loop turns, no timer) — unless the
            # oldest input has waited GATHER_MAX already (a busy loop: commit what is there).
            for _ in range(GATHER_TURNS):
                since = self._pending_since
                if since is not None and time.monotonic() - since >= GATHER_MAX:
                    break
                await asyncio.sleep(0)
            self._wake.clear()
            batch = self._take_batch()
            if (
                self._checkpoint_due
                and self._checkpointing is None
                and self.failed is None
                and time.monotonic() >= self._retry_at
            ):
                self._start_checkpoint()
            # shielded: a stop() that cancels this loop must not leave an append half-way
            # on the journal's connection while its own checkpoint appends
            appended = asyncio.ensure_future(self._append(batch))
            try:
                await asyncio.shield(appended)
            except StorageError:
                return

    async def _clock_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.tick_interval)
            now = self.clock()
            try:
                if self.failed is None and self.engine.tick(now):
                    self.submit_tick(now)
            except Exception:  # the clock must keep going
                log.exception("tick failed")
            if self._checkpoint_time(now):
                self._checkpoint_due = True
                self._wake.set()

    def _checkpoint_time(self, now: float) -> bool:
        """A checkpoint is due by time: ``checkpoint_interval`` after the last snapshot, or
        half of it when ``checkpoint_busy_results`` results came since."""
        since = now - self._snapshot_at
        interval = self.settings.checkpoint_interval
        if self._results_since_snapshot >= self.settings.checkpoint_busy_results:
            interval /= 2
        return since >= interval

    def submit_tick(self, at: float) -> None:
        """Journal a tick that was already applied (it changed something)."""
        self._seq += 1
        if self._pending_since is None:
            self._pending_since = time.monotonic()
        self._pending.append((self._seq, at, inp.encode(inp.Tick(at))))
        self._inputs_since_checkpoint += 1
        self._wake.set()

    @property
    def writer_busy(self) -> bool:
        """A commit is running on the writer thread."""
        return self._commit_since is not None

    async def on_writer(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the writer thread, between commits (it owns the writer connection)."""
        await asyncio.get_running_loop().run_in_executor(self._thread, fn)

    def overloaded(self) -> float | None:
        """Seconds to wait before sending more input when the site is behind, else None:
        an input taken has waited longer than ``overload_after`` for its answer — a journal
        append that runs long, or a loop so busy with new input that it does not get to
        commit the older (what is submitted now would wait at least that long) — or more
        than ``max_unsaved_results`` results wait for a checkpoint (memory would grow).
        Doors answer 503 with ``Retry-After`` then, taking nothing, instead of letting
        answers wait for seconds."""
        unsaved = self._results_since_snapshot + self._results_saving
        if unsaved >= self.settings.max_unsaved_results:
            return 1.0
        since = self._appending_since[0] if self._appending_since else self._pending_since
        if since is None:
            return None
        busy = time.monotonic() - since
        if busy < self.settings.overload_after:
            return None
        return float(max(1, round(busy / 2)))

    # ------------------------------------------------------------------ reads
    def recent_events(self) -> list[Event]:
        """Events committed (or applied) but not yet in the event table."""
        return self._saving_events + self._recent_events + self.engine.events

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
