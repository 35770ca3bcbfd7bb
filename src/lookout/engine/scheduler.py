"""The active-check scheduler: runs every scheduled service's check when it is due.

A heap of ``(due, token, host, service)`` orders the runs; a service's entry holds its newest
token, so rescheduling pushes a new heap item and the old one is dropped when it surfaces.
First runs are spread over one interval by a stable hash; later runs are due one interval
after the previous due time (no drift). After a start, a check whose run came due while the
site was down runs at once, spread over a short catch-up window. The scheduler never dies:
failures of the engine's callbacks are logged and the loop goes on.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from lookout.domain.results import CheckResult
from lookout.sources.active.runner import CheckJob, Runner

log = logging.getLogger(__name__)

Key = tuple[str, str]
MakeJob = Callable[[], CheckJob | None]
"""Builds the job for the next run, or returns ``None`` to skip this run."""


def spread_offset(host: str, service: str, interval: float) -> float:
    """A stable offset in ``[0, interval)`` for the first run of ``host``/``service``."""
    digest = zlib.crc32(f"{host}\0{service}".encode())
    return interval * digest / 2**32


def first_due(
    host: str, service: str, interval: float, now: float, last_run: float | None, catch_up: float
) -> float:
    """When a newly scheduled check first runs. Without a previous run: at a stable offset
    within one interval. With one (a restart): one interval after it, or, when that time
    passed while the site was down, within the ``catch_up`` window."""
    if last_run is None:
        return now + spread_offset(host, service, interval)
    due = last_run + interval
    if due <= now:
        return now + spread_offset(host, service, min(interval, catch_up))
    return min(due, now + interval)  # a last run in the future (clock moved back): one interval


def next_due(previous: float, interval: float, now: float) -> float:
    """One interval after ``previous``; when that is further behind ``now`` than one
    interval, whole missed intervals are skipped (at most one late run, phase kept)."""
    due = previous + interval
    if due < now:
        due += math.floor((now - due) / interval) * interval
    return due


def _check_interval(interval: float) -> None:
    if not (math.isfinite(interval) and interval > 0):
        raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")


@dataclass(slots=True)
class _Entry:
    make_job: MakeJob
    interval: float
    due: float = 0.0
    token: int = -1
    running: bool = False
    recheck: bool = False
    deferred: bool = False


class Scheduler:
    """Runs scheduled active checks on ``runner`` and hands results to ``submit``.

    After each run ``interval_for(host, service)`` gives the next interval (the retry
    interval while a problem is soft, the normal one otherwise, ``None`` when the service
    is gone). ``clock`` gives Unix seconds; ``sleep`` waits (both injected for tests).
    """

    def __init__(
        self,
        runner: Runner,
        submit: Callable[[CheckResult], Awaitable[None]],
        interval_for: Callable[[str, str], float | None],
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        catch_up: float = 15.0,
    ) -> None:
        self._runner = runner
        self._submit = submit
        self._interval_for = interval_for
        self._clock = clock
        self._sleep = sleep
        self._catch_up = catch_up
        """Seconds over which checks that came due while the site was down run at start."""
        self._heap: list[tuple[float, int, str, str]] = []
        self._entries: dict[Key, _Entry] = {}
        self._tasks: dict[Key, asyncio.Task[None]] = {}
        self._tokens = itertools.count()
        self._wake = asyncio.Event()
        self.checks_run = 0
        """Checks run to completion (a result came back) since start."""

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    @property
    def in_flight(self) -> int:
        """Checks running right now."""
        return len(self._tasks)

    @property
    def lag(self) -> float:
        """Seconds the most overdue waiting run is late (0 when none is overdue)."""
        head = self._peek()
        return 0.0 if head is None else max(0.0, self._clock() - head)

    def schedule(
        self,
        host: str,
        service: str,
        make_job: MakeJob,
        interval: float,
        last_run: float | None = None,
    ) -> None:
        """Run ``host``/``service`` every ``interval`` seconds, first as ``first_due`` says
        (``last_run``: when it last ran before a restart, 0 for never).

        Scheduling a service again replaces ``make_job`` and ``interval``; when the new
        interval is shorter than the wait for the next run, that run moves closer.
        """
        _check_interval(interval)
        key = (host, service)
        now = self._clock()
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry(make_job, interval)
            self._push(
                key, entry, first_due(host, service, interval, now, last_run, self._catch_up)
            )
            return
        entry.make_job, entry.interval = make_job, interval
        if not (entry.running or entry.deferred) and entry.due > now + interval:
            self._push(key, entry, now + interval)

    def unschedule(self, host: str, service: str) -> bool:
        """Stop scheduling ``host``/``service``; a run in progress still submits its result."""
        return self._entries.pop((host, service), None) is not None

    def run_now(self, host: str, service: str) -> bool:
        """Recheck: run as soon as possible (right after the current run, if one is going)."""
        entry = self._entries.get((host, service))
        if entry is None:
            return False
        if entry.running:
            entry.recheck = True
        elif not entry.deferred:
            self._push((host, service), entry, self._clock())
        return True

    async def run(self) -> None:
        """Start due checks until cancelled; on cancellation, running checks are cancelled."""
        try:
            while True:
                await self._step()
        finally:
            await self._cancel_tasks()

    async def _step(self) -> None:
        try:
            self._wake.clear()
            self._start_due()
            delay = self._next_delay()
        except Exception:
            log.exception("active-check scheduler failed; going on in a second")
            delay = 1.0
        await self._wait(delay)

    def _start_due(self) -> None:
        now = self._clock()
        while len(self._tasks) < self._runner.concurrency:
            item = self._pop_due(now)
            if item is None:
                return
            key, entry = item
            if key in self._tasks:  # an unscheduled entry of the same service still runs
                entry.deferred = True
                continue
            entry.running = True
            name = f"active check {key[0]}/{key[1]}"
            self._tasks[key] = asyncio.create_task(self._execute(key, entry), name=name)

    def _next_delay(self) -> float | None:
        if len(self._tasks) >= self._runner.concurrency:
            return None  # a finishing run wakes us
        head = self._peek()
        return None if head is None else max(0.0, head - self._clock())

    async def _wait(self, delay: float | None) -> None:
        waiters: set[asyncio.Future[object]] = {asyncio.ensure_future(self._wake.wait())}
        if delay is not None:
            waiters.add(asyncio.ensure_future(self._sleep(delay)))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _execute(self, key: Key, entry: _Entry) -> None:
        cancelled = False
        try:
            await self._run_once(key, entry)
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            del self._tasks[key]
            entry.running = False
            self._wake.set()
            self._after_run(key, entry, cancelled)

    async def _run_once(self, key: Key, entry: _Entry) -> None:
        try:
            job = entry.make_job()
            if job is None:
                return
            result = await self._runner.run(replace(job, scheduled_at=entry.due))
        except Exception:
            log.exception("active check %s/%s could not run", *key)
            return
        self.checks_run += 1
        try:
            await self._submit(result)
        except Exception:
            log.exception("submitting the result of %s/%s failed", *key)

    def _after_run(self, key: Key, entry: _Entry, cancelled: bool) -> None:
        current = self._entries.get(key)
        if current is entry and cancelled:
            self._push(key, entry, entry.due)  # stopped: run again when started again
        elif current is entry:
            self._reschedule(key, entry)
        elif current is not None and current.deferred:
            current.deferred = False
            self._push(key, current, self._clock())

    def _reschedule(self, key: Key, entry: _Entry) -> None:
        interval = self._next_interval(key, entry)
        if interval is None:
            del self._entries[key]
            return
        now = self._clock()
        due = now if entry.recheck else next_due(entry.due, interval, now)
        entry.recheck = False
        self._push(key, entry, due)

    def _next_interval(self, key: Key, entry: _Entry) -> float | None:
        try:
            interval = self._interval_for(*key)
            if interval is not None:
                _check_interval(interval)
        except Exception:
            log.exception("interval of %s/%s unknown; keeping %s s", *key, entry.interval)
            return entry.interval
        return interval

    def _push(self, key: Key, entry: _Entry, due: float) -> None:
        entry.due, entry.token = due, next(self._tokens)
        heapq.heappush(self._heap, (due, entry.token, *key))
        if len(self._heap) > 2 * len(self._entries) + 64:
            self._compact()
        self._wake.set()

    def _compact(self) -> None:
        self._heap = [
            (entry.due, entry.token, *key)
            for key, entry in self._entries.items()
            if not (entry.running or entry.deferred)
        ]
        heapq.heapify(self._heap)

    def _is_current(self, item: tuple[float, int, str, str]) -> _Entry | None:
        _, token, host, service = item
        entry = self._entries.get((host, service))
        return entry if entry is not None and entry.token == token else None

    def _peek(self) -> float | None:
        while self._heap and self._is_current(self._heap[0]) is None:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def _pop_due(self, now: float) -> tuple[Key, _Entry] | None:
        while self._heap and self._heap[0][0] <= now:
            item = heapq.heappop(self._heap)
            entry = self._is_current(item)
            if entry is not None:
                return (item[2], item[3]), entry
        return None

    async def _cancel_tasks(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
