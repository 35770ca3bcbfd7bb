"""The notifier: turns engine events into stored deliveries and hands them to the dispatcher.

How it sees every event exactly once, promptly:
- the bus (published right after the journal commit) wakes it within milliseconds;
- it remembers the id of the last event it turned into deliveries (``notify_cursor``), stored in
  the same transaction as those deliveries; on start-up (after the engine replayed its journal
  and checkpointed) it reads the event log after that id, and it does so again whenever the bus
  dropped something. Event ids are deterministic across replay, and every delivery's
  idempotency key derives from the event id, so a replay never sends twice.

What the clock adds (a rescan every ``rescan_interval``): problems held while their host was
down, quiet while flapping, in a downtime that ended or whose acknowledgement was removed are
notified once they are unhandled and still present; repeats every ``repeat_every`` seconds while
unhandled, with escalation by notification number.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any
from urllib.parse import urlencode

import msgspec
import sqlalchemy as sa

from lookout.domain.events import Event, EventType
from lookout.domain.states import state_name
from lookout.engine.bus import EventBus, Subscription
from lookout.engine.core import Engine
from lookout.engine.runner import SiteRunner
from lookout.engine.status import Status
from lookout.notify.channels.base import ChannelContext, ChannelDriver
from lookout.notify.channels.factory import make_channel
from lookout.notify.clock import Clock
from lookout.notify.dispatcher import Dispatcher, Spec
from lookout.notify.matching import Candidate, Decision, Directory, Planned, evaluate
from lookout.notify.model import Notification
from lookout.notify.spec import Kind, Rule
from lookout.notify.store import PENDING, SENDING, SENT, Delivery, NotifyStore, ObjectState
from lookout.storage import tables as t
from lookout.storage.audit import AuditLog
from lookout.storage.vault import Vault

log = logging.getLogger(__name__)

PLAN_SLICE = 500
"""Events planned between two yields to the event loop. Under churn the notifier's commit can
wait seconds for a checkpoint's write lock; its queue overflows, and the catch-up then plans
100,000s of events at once (a 2 s stall of every answer, measured with bench/churn.py)."""

SIMPLE_KINDS = {
    EventType.ACK_SET: Kind.ACKNOWLEDGEMENT,
    EventType.ACK_REMOVED: Kind.ACK_REMOVED,
    EventType.DOWNTIME_START: Kind.DOWNTIME_START,
    EventType.DOWNTIME_END: Kind.DOWNTIME_END,
    EventType.DOWNTIME_CANCEL: Kind.DOWNTIME_CANCEL,
    EventType.FLAPPING_START: Kind.FLAPPING_START,
    EventType.FLAPPING_STOP: Kind.FLAPPING_STOP,
}

_event_id = attrgetter("id")

CURSOR_EVERY = 1.0
"""Seconds between stores of the cursor alone (events that planned no delivery)."""


@dataclass(frozen=True, slots=True)
class NotifierOptions:
    rescan_interval: float = 30.0
    site_name: str = "lookout"
    url: str = ""
    """The site's public URL, for links to objects."""
    channel_types: tuple[str, ...] | None = None
    """Channel types that may be saved (None: all; SaaS mode's allow-list otherwise)."""


class Notifier:
    def __init__(
        self,
        db: sa.Engine,
        engine: Engine,
        runner: SiteRunner,
        bus: EventBus,
        clock: Clock,
        options: NotifierOptions | None = None,
        vault: Vault | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.store = NotifyStore(db, vault)
        self.audit = audit
        """Where ``notify.editing`` records changes of rules and channels."""
        self.engine = engine
        self.runner = runner
        self.bus = bus
        self.clock = clock
        self.options = options or NotifierOptions()
        self.dispatcher = Dispatcher(self.store, clock, relevant=self._relevant)
        self.rules: list[Rule] = []
        self.directory = Directory({}, {}, {})
        self.objects: dict[tuple[str, str], ObjectState] = {}
        self.cursor = 0
        self.cursor_at = 0.0
        self.processed = 0
        self._sub: Subscription | None = None
        self._dropped = 0
        self._task: asyncio.Task[None] | None = None
        self._next_rescan = 0.0
        self._cursor_saved = 0.0
        """When the cursor was last stored (``process`` stores it alone at most every
        ``CURSOR_EVERY`` seconds)."""
        self._lock = asyncio.Lock()
        self.on_channels: list[Callable[[dict[str, ChannelDriver]], None]] = []

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> None:
        self._sub = self.bus.subscribe(100_000)
        self.cursor = await asyncio.to_thread(self.store.cursor)
        self.objects = await asyncio.to_thread(self.store.objects)
        await self.reload()
        await self.dispatcher.start()
        await self.catch_up()
        self.cursor_at = max(self.cursor_at, self.clock.now())
        self._next_rescan = self.clock.now() + self.options.rescan_interval
        self._task = asyncio.create_task(self._loop(), name="lookout-notifier")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._sub is not None:
            self._sub.close()
        if self._cursor_saved and self.cursor:
            with contextlib.suppress(Exception):  # a later start plans those events again
                await asyncio.to_thread(
                    self.store.commit_batch, self.cursor, self.clock.now(), [], [], []
                )
        await self.dispatcher.stop()

    async def reload(self) -> None:
        """Read rules, channels and contacts again (after a change through the API)."""
        store = self.store
        rules, channels, contacts, users = await asyncio.gather(
            asyncio.to_thread(store.rules),
            asyncio.to_thread(store.channels),
            asyncio.to_thread(store.contacts),
            asyncio.to_thread(store.users),
        )
        self.rules = rules
        allowed = self.options.channel_types
        for c in channels:
            if allowed is not None and c.spec.type not in allowed:
                log.warning(
                    "channel %s left out: type %r is not allowed on this SaaS site",
                    c.name,
                    c.spec.type,
                )
        specs: dict[str, Spec] = {
            c.name: c.spec for c in channels if allowed is None or c.spec.type in allowed
        }
        self.directory = Directory(
            contacts={c.user: c for c in contacts},
            emails={u: e for u, (e, _role) in users.items() if e},
            channels=specs,
        )
        ctx = ChannelContext(
            store=store,
            clock=self.clock,
            site_name=self.options.site_name,
            ui_url=self.url_of,
            site_url=self.options.url,
        )
        old = self.dispatcher.drivers
        drivers = {name: make_channel(name, spec, ctx) for name, spec in specs.items()}
        self.dispatcher.set_channels(drivers, specs)
        for cb in self.on_channels:
            cb(drivers)
        for driver in old.values():
            await driver.aclose()

    def url_of(self, host: str, service: str) -> str:
        if not self.options.url:
            return ""
        if service:
            return f"{self.options.url}/service?{urlencode({'host': host, 'name': service})}"
        return f"{self.options.url}/host?{urlencode({'name': host})}"

    # ------------------------------------------------------------------ intake
    async def _loop(self) -> None:
        assert self._sub is not None
        sub = self._sub
        while True:
            try:
                events: list[Event] = []
                if sub.empty():
                    wait = min(max(0.05, self._next_rescan - self.clock.now()), 1.0)
                    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a
                    # cancellation that races with a result, and stop() would wait forever
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            events.append(await sub.get())
                events += sub.take(5000 - len(events))
                if sub.dropped != self._dropped:
                    self._dropped = sub.dropped
                    await self.catch_up()
                elif events:
                    await self.process(events)
                if self.clock.now() >= self._next_rescan and await self.rescan():
                    self._next_rescan = self.clock.now() + self.options.rescan_interval
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notifier step failed; catching up from the event log")
                await asyncio.sleep(1.0)
                with contextlib.suppress(Exception):
                    await self.catch_up()

    async def catch_up(self) -> None:
        """Process every durable event after the cursor (the event log, then what the runner
        committed but has not checkpointed yet)."""
        while True:
            events = await asyncio.to_thread(self.store.events_after, self.cursor)
            if not events:
                break
            await self.process(events)
        pending = {e.id for e in self.engine.events}
        await self.process([e for e in self.runner.recent_events() if e.id not in pending])

    async def process(self, events: list[Event]) -> None:
        async with self._lock:
            fresh = sorted((e for e in events if e.id > self.cursor), key=_event_id)
            if not fresh:
                return
            rows: list[dict[str, Any]] = []
            touched: dict[tuple[str, str], ObjectState] = {}
            dropped: list[tuple[str, str]] = []
            if self.rules or self.objects:  # else no event plans anything (nor recovers)
                for n, ev in enumerate(fresh, 1):
                    rows += await self._plan_event(ev, touched, dropped, rows)
                    if n % PLAN_SLICE == 0:
                        await asyncio.sleep(0)  # a catch-up of 100,000s must not hold the loop
            last = fresh[-1]
            dropped = [k for k in dropped if k not in touched]  # recovered, then a new problem
            now = self.clock.now()
            if not rows and not touched and not dropped and now < self._cursor_saved + CURSOR_EVERY:
                # Nothing to store but the cursor: under churn that was a transaction per
                # batch. Events after a cursor stored late are planned again after a restart,
                # and planned nothing now, so they plan nothing then (rules unchanged).
                self.cursor, self.cursor_at = last.id, last.at
                self.processed += len(fresh)
                return
            new = await asyncio.to_thread(
                self.store.commit_batch, last.id, now, rows, touched.values(), dropped
            )
            self._cursor_saved = now
            self.cursor, self.cursor_at = last.id, last.at
            self.processed += len(fresh)
            self.dispatcher.add(new)

    # ------------------------------------------------------------------ planning
    def candidate(
        self, kind: str, host: str, service: str, state: str, state_type: str, at: float, n: int
    ) -> Candidate:
        hcfg = self.engine.hosts.get(host)
        labels: dict[str, str] = dict(hcfg.labels) if hcfg else {}
        scfg = self.engine.services.get((host, service)) if service else None
        if scfg is not None:
            labels.update(scfg.labels)
        return Candidate(
            kind=kind,
            host=host,
            service=service,
            state=state,
            state_type=state_type,
            at=at,
            number=n,
            labels=labels,
            host_groups=hcfg.groups if hcfg else (),
        )

    def decide(self, c: Candidate) -> Decision:
        return evaluate(self.rules, c, self.directory)

    async def _plan_event(
        self,
        ev: Event,
        touched: dict[tuple[str, str], ObjectState],
        dropped: list[tuple[str, str]],
        batch: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """Deliveries for one event. The notification text is built only for an event that
        plans one: under churn most state changes are soft or match no rule, and building
        it (the object's link, its payload) cost more than the engine's own work."""
        key = (ev.host, ev.service)
        is_host = not ev.service
        state = state_name(ev.state, is_host=is_host) if ev.state is not None else ""
        if ev.type == EventType.STATE_CHANGE:
            if ev.state:
                hard = ev.state_type == "hard"
                if hard and not ev.data.get("notify"):
                    return []  # handled, held or flapping: the rescan notifies when it is not
                obj = touched.get(key) or self.objects.get(key)
                number = (obj.number + 1) if (obj and hard) else 1
                planned = self._planned("problem", *key, state, ev.state_type or "", ev.at, number)
                if not planned:
                    return []
                if hard:
                    obj = ObjectState(
                        ev.host, ev.service, obj.problem_id if obj else ev.id, number, ev.at, []
                    )
                    touched[key] = self.objects[key] = obj
                note = msgspec.structs.replace(self._note(ev, state), number=number)
                return self._rows(f"e{ev.id}", ev.id, "problem", note, planned, ev.at)
            if ev.data.get("old_state") and ev.data.get("old_hard", True):
                return await self._recovery(ev, state, touched, dropped, batch)
            return []
        kind = SIMPLE_KINDS.get(ev.type)
        if kind is None:
            return []
        if kind == Kind.ACKNOWLEDGEMENT and not ev.data.get("notify", True):
            return []
        planned = self._planned(kind, *key, state, "", ev.at, 1)
        if not planned:
            return []
        return self._rows(f"e{ev.id}", ev.id, kind, self._note(ev, state), planned, ev.at)

    def _planned(
        self, kind: str, host: str, service: str, state: str, state_type: str, at: float, n: int
    ) -> list[Planned]:
        """What the rules plan for an event (nothing without rules: no candidate built)."""
        if not self.rules:
            return []
        return self.decide(self.candidate(kind, host, service, state, state_type, at, n)).planned

    async def _recovery(
        self,
        ev: Event,
        state: str,
        touched: dict[tuple[str, str], ObjectState],
        dropped: list[tuple[str, str]],
        batch: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """A recovery goes to whoever got (or is about to get) the problem; not where the
        problem is still held by its rule's ``delay``: the dispatcher cancels that one."""
        key = (ev.host, ev.service)
        obj = touched.pop(key, None) or self.objects.get(key)
        self.objects.pop(key, None)
        if obj is None:
            return []
        dropped.append(key)
        got = await asyncio.to_thread(self._problem_recipients, ev.host, ev.service, obj.problem_id)
        got += [  # problems planned in this very batch (not stored yet)
            (r["channel"], r["recipient"])
            for r in batch
            if r["kind"] == "problem"
            and (r["host"], r["service"]) == key
            and r["due_at"] <= r["created_at"]
        ]
        if not got:
            return []
        planned = [Planned("recovery", ch, r) for ch, r in dict.fromkeys(got)]
        return self._rows(f"e{ev.id}", ev.id, "recovery", self._note(ev, state), planned, ev.at)

    def _problem_recipients(self, host: str, service: str, since_id: int) -> list[tuple[str, str]]:
        d = t.notify_deliveries
        q = (
            sa.select(d.c.channel, d.c.recipient)
            .where(
                (d.c.host == host)
                & (d.c.service == service)
                & (d.c.kind == "problem")
                & (d.c.status.in_([SENT, PENDING, SENDING]))
                & (d.c.event_id >= since_id)
                # a delayed problem not tried yet is cancelled when its object recovers
                & ~((d.c.status == PENDING) & (d.c.attempts == 0) & (d.c.due_at > d.c.created_at))
            )
            .distinct()
        )
        with self.store.db.connect() as conn:
            return [(r.channel, r.recipient) for r in conn.execute(q)]

    def _note(self, ev: Event, state: str) -> Notification:
        st = self.engine.status.get((ev.host, ev.service))
        since = st.last_hard_state_change if st is not None else ev.at
        return Notification(
            kind="",
            host=ev.host,
            service=ev.service,
            state=state,
            state_type=ev.state_type or "",
            summary=ev.summary,
            at=ev.at,
            since=since if ev.type == EventType.STATE_CHANGE else ev.at,
            author=ev.author,
            comment=ev.comment,
            event_id=ev.id,
            url=self.url_of(ev.host, ev.service),
            site=self.options.site_name,
            extra={
                **({"end": ev.data["end"]} if "end" in ev.data else {}),
                **self._affects(st),
            },
        )

    def _affects(self, st: Status | None) -> dict[str, Any]:
        """The services that depend on ``st``: its page names what it silences."""
        affected = self.engine.affected(st) if st is not None else []
        return {"affects": affected} if affected else {}

    def _rows(
        self,
        prefix: str,
        event_id: int,
        kind: str,
        note: Notification,
        planned: list[Planned],
        at: float,
    ) -> list[dict[str, Any]]:
        payload = msgspec.to_builtins(msgspec.structs.replace(note, kind=str(kind)))
        now = self.clock.now()
        return [
            {
                "key": f"{prefix}:{p.rule}:{p.channel}:{p.recipient}"[:255],
                "event_id": event_id,
                "kind": str(kind),
                "rule": p.rule,
                "channel": p.channel,
                "recipient": p.recipient,
                "host": note.host,
                "service": note.service,
                "number": note.number,
                "payload": payload,
                "status": PENDING,
                "attempts": 0,
                "created_at": now,
                "due_at": max(now, at + p.delay) if kind == "problem" else now,
                "sent_at": None,
                "error": "",
                "external_id": "",
            }
            for p in planned
        ]

    # ------------------------------------------------------------------ the clock
    def unhandled(self, st: Status) -> bool:
        return st.state != 0 and st.hard and not st.flapping and not self.engine.handled(st)

    def caught_up(self) -> bool:
        """Every event the engine produced so far has been turned into deliveries."""
        if self._sub is not None and not self._sub.empty():
            return False
        return all(e.id <= self.cursor for e in self.runner.recent_events())

    async def rescan(self) -> bool:
        """Late first notifications (held, flapping, downtime over, ack removed) and repeats.
        Runs only when no event is waiting (else a problem could be notified twice: late, and
        from its event); returns whether it ran."""
        async with self._lock:
            if not self.caught_up():
                return False
            now = self.clock.now()
            rows: list[dict[str, Any]] = []
            touched: dict[tuple[str, str], ObjectState] = {}
            for key, st in self.engine.status.items():
                if not self.unhandled(st):
                    continue
                rows += self._late_or_repeat(key, st, now, touched)
            if not rows and not touched:
                return True
            new = await asyncio.to_thread(
                self.store.commit_batch, self.cursor, now, rows, touched.values(), []
            )
        self.dispatcher.add(new)
        return True

    def _late_or_repeat(
        self,
        key: tuple[str, str],
        st: Status,
        now: float,
        touched: dict[tuple[str, str], ObjectState],
    ) -> list[dict[str, Any]]:
        host, service = key
        state = state_name(st.state, is_host=not service)
        obj = self.objects.get(key)
        if obj is None:
            number, prefix = 1, f"late:{host}/{service}:{st.last_hard_state_change}"
        else:
            c = self.candidate("problem", host, service, state, "hard", now, obj.number)
            every = [p.repeat_every for p in self.decide(c).planned if p.repeat_every > 0]
            if not every or now - obj.last_sent_at < min(every):
                return []
            number, prefix = obj.number + 1, f"repeat:{obj.problem_id}:{obj.number + 1}"
        c = self.candidate("problem", host, service, state, "hard", now, number)
        planned = [Planned(p.rule, p.channel, p.recipient) for p in self.decide(c).planned]
        if not planned:
            return []
        problem_id = obj.problem_id if obj else self.cursor
        touched[key] = self.objects[key] = ObjectState(host, service, problem_id, number, now, [])
        note = Notification(
            kind="problem",
            host=host,
            service=service,
            state=state,
            state_type="hard",
            summary=st.summary,
            at=now,
            since=st.last_hard_state_change,
            number=number,
            url=self.url_of(host, service),
            site=self.options.site_name,
            extra=self._affects(st),
        )
        return self._rows(prefix, self.cursor, "problem", note, planned, now)

    def _relevant(self, d: Delivery) -> str | None:
        """Why a delayed problem notification should not go out any more (None: send it)."""
        st = self.engine.status.get((d.host, d.service))
        if st is None:
            return "the object was deleted"
        if st.state == 0:
            return "recovered before the notification delay passed"
        if not self.unhandled(st):
            return "handled (acknowledged, downtime, host down or flapping) before the delay"
        return None

    # ------------------------------------------------------------------ dry run
    def dry_run(self, c: Candidate) -> Decision:
        return self.decide(c)
