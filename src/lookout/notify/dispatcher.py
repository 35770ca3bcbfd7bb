"""The outbox dispatcher: sends stored deliveries, in order per lane, with retries.

A *lane* is one channel and recipient (a Zulip stream, a mailbox, a webhook URL). Each lane
has its own task, so a failing channel or mailbox never blocks another. In an ordered lane the
oldest delivery goes first and a temporary failure holds the lane until its retry time (so a
topic's messages stay in order); unordered lanes (webhooks) send several at once.

Every attempt is recorded as ``sending`` before the request leaves: after a crash such a row
is marked failed rather than sent again (at most once). Problems that arrive in a burst are
bundled: after ``group_burst`` single messages in ``group_window`` seconds, further problems
wait for the window and go out as one message listing them (up to ``group_cap``); so are
recoveries, counted apart (a storm recovers as it came).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from lookout.errors import PermanentFailure, TemporaryFailure
from lookout.notify.channels.base import ChannelDriver
from lookout.notify.clock import Clock
from lookout.notify.health import PROBE_EVERY, HealthBook, Probing
from lookout.notify.model import Notification, Outgoing, Sent
from lookout.notify.spec import AnySpec, WebhookSpec
from lookout.notify.store import CANCELLED, FAILED, PENDING, SENT, Delivery, NotifyStore

log = logging.getLogger(__name__)

Spec = AnySpec
LaneKey = tuple[str, str]
BUNDLED = ("problem", "recovery")
"""Kinds of notification a storm of which is bundled into one message."""


def _batch_size(spec: Spec) -> int:
    return spec.batch if isinstance(spec, WebhookSpec) else 1


def backoff(attempts: int, cap: float) -> float:
    """2, 4, 8, … seconds, at most ``cap``."""
    return float(min(cap, 2.0 ** min(attempts, 30)))


@dataclass(slots=True)
class Lane:
    key: LaneKey
    rows: deque[Delivery] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    recent: dict[str, deque[float]] = field(default_factory=dict)
    """Per bundled kind: when single messages of it went out (the burst before bundling)."""
    task: asyncio.Task[None] | None = None


@dataclass(slots=True)
class Stats:
    sent: int = 0
    messages: int = 0
    failed: int = 0
    retried: int = 0
    cancelled: int = 0


class Dispatcher:
    def __init__(
        self,
        store: NotifyStore,
        clock: Clock,
        relevant: Callable[[Delivery], str | None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.relevant = relevant
        self.drivers: dict[str, ChannelDriver] = {}
        self.specs: dict[str, Spec] = {}
        self.lanes: dict[LaneKey, Lane] = {}
        self.stats = Stats()
        self.on_sent: list[Callable[[list[Delivery]], None]] = []
        self.health = HealthBook()
        self._probes: dict[str, asyncio.Task[None]] = {}
        self._running = False

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> None:
        self._running = True
        interrupted = await asyncio.to_thread(self.store.fail_interrupted, self.clock.now())
        if interrupted:
            log.warning("%d deliveries were interrupted mid-send; marked failed", interrupted)
        self.add(await asyncio.to_thread(self.store.pending))

    async def stop(self) -> None:
        self._running = False
        tasks = [lane.task for lane in self.lanes.values() if lane.task is not None]
        tasks += list(self._probes.values())
        self._probes.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for lane in self.lanes.values():
            lane.task = None
        for driver in self.drivers.values():
            await driver.aclose()

    def set_channels(self, drivers: dict[str, ChannelDriver], specs: dict[str, Spec]) -> None:
        self.drivers = drivers
        self.specs = specs
        for lane in self.lanes.values():
            lane.wake.set()

    def add(self, deliveries: list[Delivery]) -> None:
        """Hand new (stored) deliveries to their lanes."""
        for d in deliveries:
            key = (d.channel, d.recipient)
            lane = self.lanes.get(key)
            if lane is None:
                lane = self.lanes[key] = Lane(key)
            lane.rows.append(d)
            lane.wake.set()
            if lane.task is None and self._running:
                lane.task = asyncio.create_task(self._run(lane), name=f"notify-lane-{key}")

    @property
    def backlog(self) -> int:
        return sum(len(lane.rows) for lane in self.lanes.values())

    # ------------------------------------------------------------------ a lane
    async def _run(self, lane: Lane) -> None:
        while True:
            try:
                await self._step(lane)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug must not stop the lane for good
                log.exception("notification lane %s failed", lane.key)
                await self.clock.wait(lane.wake, self.clock.now() + 5.0)

    async def _step(self, lane: Lane) -> None:
        lane.wake.clear()
        if not lane.rows:
            await self.clock.wait(lane.wake, math.inf)
            return
        now = self.clock.now()
        head = lane.rows[0]
        if head.due_at > now:
            await self.clock.wait(lane.wake, head.due_at)
            return
        driver = self.drivers.get(head.channel)
        spec = self.specs.get(head.channel)
        if driver is None or spec is None:
            rows = list(lane.rows)
            lane.rows.clear()
            await self._finish(rows, FAILED, error=f"channel {head.channel!r} does not exist")
            return
        if await self._drop_irrelevant(lane):
            return
        if head.kind in BUNDLED and spec.group_window > 0:
            batch = self._bundle(lane, spec, now, head.kind)
            if batch is None:  # wait for the group window to fill
                await self.clock.wait(lane.wake, head.created_at + spec.group_window)
                return
            if len(batch) > 1:
                await self._send(lane, driver, spec, batch)
                return
            first = batch[0]
        else:
            first = lane.rows.popleft()
        group = [first, *self._companions(lane, driver, spec, now, first)]
        if len(group) == 1:
            await self._send(lane, driver, spec, group)
        else:
            await self._send_many(lane, driver, spec, group)

    def _companions(
        self, lane: Lane, driver: ChannelDriver, spec: Spec, now: float, first: Delivery
    ) -> list[Delivery]:
        """Due deliveries that may go out together with ``first``: in an ordered lane only
        the first pending one of each other object (order is kept per object, i.e. per Zulip
        topic); problems and recoveries stay on the bundling path."""
        room = driver.parallel * _batch_size(spec) - 1
        if room <= 0:
            return []
        taken: list[Delivery] = []
        blocked = {(first.host, first.service)}
        for d in list(lane.rows)[: room * 4]:
            if len(taken) >= room or d.due_at > now:
                break
            if d.kind in BUNDLED and spec.group_window > 0:
                break
            obj = (d.host, d.service)
            if driver.ordered and obj in blocked:
                continue
            blocked.add(obj)
            taken.append(d)
        for d in taken:
            lane.rows.remove(d)
        return taken

    async def _drop_irrelevant(self, lane: Lane) -> bool:
        """Cancel a delayed problem whose object recovered or was handled meanwhile."""
        head = lane.rows[0]
        delayed = head.attempts == 0 and head.due_at > head.created_at
        if self.relevant is None or head.kind != "problem" or not delayed:
            return False
        reason = self.relevant(head)
        if reason is None:
            return False
        lane.rows.popleft()
        await self._finish([head], CANCELLED, error=reason)
        return True

    def _bundle(self, lane: Lane, spec: Spec, now: float, kind: str) -> list[Delivery] | None:
        """The due deliveries of ``kind`` at the head of the lane to send now, one or a
        bundle; None while a storm's window is still filling."""
        window = spec.group_window
        recent = lane.recent.setdefault(kind, deque())
        while recent and recent[0] <= now - window:
            recent.popleft()
        due = []
        for d in lane.rows:
            if d.kind != kind or d.due_at > now:
                break
            due.append(d)
        if len(due) == 1 and len(recent) < spec.group_burst:
            recent.append(now)
            return [lane.rows.popleft()]
        if now < due[0].created_at + window and len(due) < 10 * spec.group_cap:
            return None
        recent.append(now)
        for _ in due:
            lane.rows.popleft()
        return due

    async def _send_many(
        self, lane: Lane, driver: ChannelDriver, spec: Spec, group: list[Delivery]
    ) -> None:
        """Send independent deliveries concurrently (a webhook takes several per request)."""
        await asyncio.to_thread(self.store.mark_attempt, [d.id for d in group])
        size = _batch_size(spec)
        chunks = [group[i : i + size] for i in range(0, len(group), size)]
        sem = asyncio.Semaphore(driver.parallel)

        async def one(chunk: list[Delivery]) -> Sent | BaseException:
            async with sem:
                try:
                    return await driver.send(self._outgoing(lane, spec, chunk))
                except Exception as exc:
                    return exc

        results = await asyncio.gather(*(one(c) for c in chunks))
        done = [(c, r) for c, r in zip(chunks, results, strict=True) if isinstance(r, Sent)]
        if done:
            await self._finish_many(done)
        failed = [(c, r) for c, r in zip(chunks, results, strict=True) if not isinstance(r, Sent)]
        for chunk, exc in reversed(failed):  # requeued in front, oldest first
            await self._failed(lane, spec, chunk, exc, requeue_front=driver.ordered)
        if failed and driver.ordered:
            lane.rows = deque(sorted(lane.rows, key=lambda d: d.id))

    async def _send(
        self, lane: Lane, driver: ChannelDriver, spec: Spec, batch: list[Delivery]
    ) -> None:
        await asyncio.to_thread(self.store.mark_attempt, [d.id for d in batch])
        try:
            sent = await driver.send(self._outgoing(lane, spec, batch))
        except Exception as exc:
            await self._failed(lane, spec, batch, exc, requeue_front=True)
            return
        await self._finish(batch, SENT, external_id=sent.external_id)

    def _outgoing(self, lane: Lane, spec: Spec, batch: list[Delivery]) -> Outgoing:
        notes = [Notification(**d.payload) for d in batch]
        return Outgoing(
            recipient=lane.key[1],
            notes=notes,
            keys=[d.key for d in batch],
            cap=spec.group_cap,
            ids=[d.id for d in batch],
        )

    async def _failed(
        self,
        lane: Lane,
        spec: Spec,
        batch: list[Delivery],
        exc: BaseException,
        *,
        requeue_front: bool,
    ) -> None:
        attempts = batch[0].attempts + 1
        if isinstance(exc, TemporaryFailure) and attempts < spec.max_attempts:
            now = self.clock.now()
            wait = max(exc.retry_after or 0.0, backoff(attempts, spec.retry_max))
            for d in batch:
                d.attempts = attempts
                d.due_at = now + wait
                d.error = str(exc)
            ids = [d.id for d in batch]
            await asyncio.to_thread(
                self.store.mark, ids, PENDING, due_at=now + wait, error=str(exc)
            )
            if requeue_front:
                lane.rows.extendleft(reversed(batch))
            else:
                lane.rows.extend(batch)
            self.stats.retried += len(batch)
            log.info("lane %s: %s; retry in %.0f s", lane.key, exc, wait)
            if self.health.failed(lane.key[0], str(exc), now) and self._running:
                self._probes[lane.key[0]] = asyncio.create_task(
                    self._probe(lane.key[0]), name=f"notify-probe-{lane.key[0]}"
                )
            return
        if not isinstance(exc, TemporaryFailure | PermanentFailure):
            log.error("lane %s: unexpected error", lane.key, exc_info=exc)
        reason = str(exc) if isinstance(exc, PermanentFailure) else f"{exc} (gave up)"
        for d in batch:
            d.attempts = attempts
        await self._finish(batch, FAILED, error=reason or type(exc).__name__)

    async def _finish_many(self, done: list[tuple[list[Delivery], Sent]]) -> None:
        now = self.clock.now()
        pairs = [(d.id, sent.external_id) for chunk, sent in done for d in chunk]
        await asyncio.to_thread(self.store.mark_sent_many, pairs, now)
        rows = [d for chunk, _ in done for d in chunk]
        for chunk, sent in done:
            for d in chunk:
                d.status, d.error, d.sent_at, d.external_id = SENT, "", now, sent.external_id
        self.stats.sent += len(rows)
        self.stats.messages += len(done)
        self._delivered(rows[0].channel, now)
        for cb in self.on_sent:
            cb(rows)

    async def _finish(
        self, batch: list[Delivery], status: str, *, error: str = "", external_id: str = ""
    ) -> None:
        now = self.clock.now()
        await asyncio.to_thread(
            self.store.mark,
            [d.id for d in batch],
            status,
            sent_at=now,
            error=error,
            external_id=external_id,
        )
        for d in batch:
            d.status, d.error, d.sent_at, d.external_id = status, error, now, external_id
        if status == SENT:
            self.stats.sent += len(batch)
            self.stats.messages += 1
            self._delivered(batch[0].channel, now)
            for cb in self.on_sent:
                cb(batch)
        elif status == FAILED:
            self.stats.failed += len(batch)
        else:
            self.stats.cancelled += len(batch)

    # ------------------------------------------------------------------ outages
    def _delivered(self, channel: str, now: float) -> None:
        self.health.delivered(channel, now)
        probe = self._probes.pop(channel, None)
        if probe is not None and probe is not asyncio.current_task():
            probe.cancel()

    async def _probe(self, channel: str) -> None:
        """While ``channel`` fails, ask its server every ``PROBE_EVERY`` seconds whether it
        answers; when it does, deliveries waiting for a long backoff go at once (the first
        message after a 5-minute outage would otherwise wait up to ``retry_max``)."""
        never = asyncio.Event()
        while self.health.get(channel).failing:
            await self.clock.wait(never, self.clock.now() + PROBE_EVERY)
            driver = self.drivers.get(channel)
            now = self.clock.now()
            waiting = [
                lane
                for lane in self.lanes.values()
                if lane.key[0] == channel and lane.rows and lane.rows[0].due_at > now + PROBE_EVERY
            ]
            if not isinstance(driver, Probing) or not waiting:
                continue
            try:
                await driver.probe()
            except Exception as exc:  # still down: the probe tells nothing new
                log.debug("channel %s: probe failed: %s", channel, exc)
                continue
            log.info("channel %s answers again; sending its waiting deliveries now", channel)
            for lane in waiting:
                for d in lane.rows:
                    if d.attempts:  # retries only: a rule's delay still holds
                        d.due_at = min(d.due_at, now)
                lane.wake.set()
