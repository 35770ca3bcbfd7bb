"""The engine under random input sequences: its rules as invariants, and replay determinism."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as hs
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from lookout.domain.events import Event, EventType
from lookout.domain.handling import Ack
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult
from lookout.engine import inputs as inp
from lookout.engine.core import Engine, Key
from lookout.engine.persist import status_row

HOST: Key = ("h", "")
SERVICES: list[Key] = [("h", "s0"), ("h", "s1"), ("h", "s2")]
KEYS: list[Key] = [HOST, *SERVICES]
RECURRENCES = ["", "", "", "0 * * * *", "*/15 * * * *"]

steps = hs.integers(min_value=0, max_value=900).map(float)
"""How far the clock moves with one input (seconds); 0 is allowed: inputs can share a time."""


class EngineMachine(RuleBasedStateMachine):
    """Drives one engine with results, acks, downtimes and ticks; a clock that only moves on."""

    downtime_ids = Bundle("downtime_ids")

    def __init__(self) -> None:
        super().__init__()
        self.eng = Engine()
        self.now = 0.0
        self.max: dict[Key, int] = {}
        self.streak: dict[Key, int] = {}  # consecutive problem results since the last OK
        self.forced: dict[Key, bool] = {}  # a problem of this streak came while the host was down
        self.seen_events = 0
        self.last_event: tuple[int, float] = (0, 0.0)
        self.fixed: dict[int, tuple[float, float]] = {}  # fixed, non-recurring: id -> window

    @initialize(
        host_max=hs.integers(1, 5),
        service_max=hs.lists(hs.integers(1, 5), min_size=len(SERVICES), max_size=len(SERVICES)),
    )
    def configure(self, host_max: int, service_max: list[int]) -> None:
        self.eng.put_host(HostConfig(name="h", max_check_attempts=host_max), at=0.0)
        self.max[HOST] = host_max
        for (host, name), m in zip(SERVICES, service_max, strict=True):
            cfg = ServiceConfig(host=host, name=name, max_check_attempts=m, stale_after=0)
            self.eng.put_service(cfg, at=0.0)
            self.max[(host, name)] = m
        for key in KEYS:
            self.streak[key], self.forced[key] = 0, False

    def advance(self, step: float) -> float:
        self.now += step
        return self.now

    # ------------------------------------------------------------------ results
    @rule(key=hs.sampled_from(KEYS), state=hs.integers(0, 3), step=steps)
    def result(self, key: Key, state: int, step: float) -> None:
        if key == HOST:
            state = min(state, 2)
        st = self.eng.status[key]
        old_state, old_checked, old_ack = st.state, st.checked, st.ack
        host_down = key != HOST and self.eng.status[HOST].state != 0
        if state == 0:
            self.streak[key], self.forced[key] = 0, False
        elif old_state == 0 or not old_checked:
            self.streak[key], self.forced[key] = 1, host_down
        else:
            self.streak[key] += 1
            self.forced[key] = self.forced[key] or host_down

        at = self.advance(step)
        before = len(self.eng.events)
        self.eng.apply(inp.Results(at=at, results=[CheckResult(key[0], key[1], state)]))
        self.check_notify(key, self.eng.events[before:])

        m, streak = self.max[key], self.streak[key]
        assert st.state == state
        if state == 0:
            assert (st.hard, st.attempt) == (True, 1)
        else:
            # hard only after max consecutive problems, at once when max is 1 or the host is down
            assert st.hard is (streak >= m or self.forced[key])
            assert 1 <= st.attempt <= m
            if not self.forced[key]:
                assert st.attempt == min(streak, m)
        if st.hard:
            assert st.last_hard_state == state
        self.check_ack_after_result(old_ack, old_state, st.ack, state)

    def check_notify(self, key: Key, new_events: list[Event]) -> None:
        """Only a hard change of an unhandled object notifies."""
        st, host = self.eng.status[key], self.eng.status[HOST]
        for ev in new_events:
            if ev.type != EventType.STATE_CHANGE:
                continue
            handled = st.ack is not None or st.in_downtime or st.flapping
            if key != HOST:
                handled = handled or host.state != 0 or host.in_downtime
            assert ev.data["notify"] is (ev.data["hard_change"] and not handled)

    @staticmethod
    def check_ack_after_result(
        old: Ack | None, old_state: int, new: Ack | None, state: int
    ) -> None:
        if old is None:
            assert new is None
        elif state == old_state:
            assert new is old
        elif state == 0 or not old.sticky:
            assert new is None  # non-sticky: any state change; sticky: recovery
        else:
            assert new is old  # sticky survives WARN -> CRIT

    # ------------------------------------------------------------------ acknowledgements
    @rule(
        key=hs.sampled_from(KEYS),
        sticky=hs.booleans(),
        persistent=hs.booleans(),
        expire=hs.none() | hs.integers(1, 3000).map(float),
        step=steps,
    )
    def acknowledge(
        self, key: Key, sticky: bool, persistent: bool, expire: float | None, step: float
    ) -> None:
        at = self.advance(step)
        expire_at = None if expire is None else at + expire
        st = self.eng.status[key]
        done = self.eng.apply(
            inp.Acknowledge(
                at=at,
                keys=[key],
                author="a",
                comment="c",
                sticky=sticky,
                persistent=persistent,
                expire_at=expire_at,
            )
        )
        if st.state == 0:
            assert (done, st.ack) == ([], None)
        else:
            assert done == [key]
            assert st.ack is not None
            assert (st.ack.sticky, st.ack.expire_at) == (sticky, expire_at)

    @rule(key=hs.sampled_from(KEYS), step=steps)
    def unacknowledge(self, key: Key, step: float) -> None:
        at = self.advance(step)
        self.eng.apply(inp.RemoveAcknowledgement(at=at, keys=[key], author="a"))
        assert self.eng.status[key].ack is None

    # ------------------------------------------------------------------ downtimes
    @rule(
        target=downtime_ids,
        key=hs.sampled_from(KEYS),
        fixed=hs.booleans(),
        include_services=hs.booleans(),
        offset=hs.integers(-600, 1800).map(float),
        length=hs.integers(1, 3600).map(float),
        duration=hs.integers(1, 1800).map(float),
        recurrence=hs.sampled_from(RECURRENCES),
        step=steps,
    )
    def schedule_downtime(
        self,
        key: Key,
        fixed: bool,
        include_services: bool,
        offset: float,
        length: float,
        duration: float,
        recurrence: str,
        step: float,
    ) -> Any:
        at = self.advance(step)
        start = at + offset
        ids = self.eng.apply(
            inp.ScheduleDowntime(
                at=at,
                targets=[key],
                start=start,
                end=start + length,
                fixed=fixed,
                duration=0.0 if fixed else duration,
                include_services=include_services,
                recurrence=recurrence,
                author="a",
                comment="c",
            )
        )
        assert len(ids) == 1
        dt = self.eng.downtimes[ids[0]]
        due = fixed or self.eng.status[key].state != 0  # flexible: starts with a problem
        assert (dt.started_at is not None) is (due and start <= at < start + length)
        if fixed and not recurrence:
            self.fixed[ids[0]] = (start, start + length)
        return multiple(*ids)

    @rule(dt_id=consumes(downtime_ids), step=steps)
    def remove_downtime(self, dt_id: int, step: float) -> None:
        at = self.advance(step)
        existed = dt_id in self.eng.downtimes
        done = self.eng.apply(inp.RemoveDowntime(at=at, ids=[dt_id], author="a"))
        assert done == ([dt_id] if existed else [])
        assert dt_id not in self.eng.downtimes
        self.fixed.pop(dt_id, None)

    def check_fixed(self, dt_id: int) -> None:
        """After a tick, a fixed downtime is active exactly inside its window, gone after it."""
        start, end = self.fixed[dt_id]
        dt = self.eng.downtimes.get(dt_id)
        if self.now >= end:
            assert dt is None
        else:
            assert dt is not None
            assert (dt.started_at is not None) is (start <= self.now)

    # ------------------------------------------------------------------ the clock
    @rule(step=steps)
    def tick(self, step: float) -> None:
        acks = {key: self.eng.status[key].ack for key in KEYS}
        at = self.advance(step)
        self.eng.apply(inp.Tick(at=at))
        for key, old in acks.items():
            new = self.eng.status[key].ack
            expired = old is not None and old.expire_at is not None and at >= old.expire_at
            assert new is (None if expired else old)
        for dt_id in self.fixed:
            self.check_fixed(dt_id)

    @precondition(lambda self: any(st.ack is not None for st in self.eng.status.values()))
    @rule()
    def tick_past_ack_expiry(self) -> None:
        """Jump to the first expiry time exactly (the boundary is inclusive)."""
        times = [
            st.ack.expire_at
            for st in self.eng.status.values()
            if st.ack is not None and st.ack.expire_at is not None
        ]
        self.tick(max(0.0, min(times, default=self.now) - self.now))

    # ------------------------------------------------------------------ invariants
    @invariant()
    def attempts_within_bounds(self) -> None:
        for key, st in self.eng.status.items():
            assert 1 <= st.attempt <= self.max[key]
            if st.state == 0:
                assert st.hard

    @invariant()
    def acks_only_on_problems(self) -> None:
        for st in self.eng.status.values():
            assert st.ack is None or st.state != 0

    @invariant()
    def in_downtime_matches_active_downtimes(self) -> None:
        active = [d for d in self.eng.downtimes.values() if d.started_at is not None]
        for (host, service), st in self.eng.status.items():
            assert st.in_downtime is any(d.covers(host, service) for d in active)

    @invariant()
    def event_ids_increase(self) -> None:
        last_id, last_at = self.last_event
        for ev in self.eng.events[self.seen_events :]:
            assert ev.id > last_id
            assert last_at <= ev.at <= self.now
            last_id, last_at = ev.id, ev.at
        self.seen_events = len(self.eng.events)
        self.last_event = (last_id, last_at)


EngineMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestEngineMachine = EngineMachine.TestCase


# ====================================================================== replay determinism
PASSIVE: Key = ("h", "p")
REPLAY_KEYS: list[Key] = [*KEYS, PASSIVE, ("nope", "")]


def fresh_engine() -> Engine:
    eng = Engine()
    eng.put_host(HostConfig(name="h", max_check_attempts=2), at=0.0)
    for (host, name), m in zip(SERVICES, [1, 3, 5], strict=True):
        eng.put_service(
            ServiceConfig(host=host, name=name, max_check_attempts=m, stale_after=0), at=0.0
        )
    eng.put_service(
        ServiceConfig(
            host="h", name="p", check_interval=1800, retry_interval=300, max_check_attempts=2
        ),
        at=0.0,
    )
    return eng


keys = hs.lists(hs.sampled_from(REPLAY_KEYS), min_size=1, max_size=3)
text = hs.sampled_from(["", "x", "maint ✓"])
result = hs.builds(
    lambda key, state, summary: CheckResult(key[0], key[1], state, summary),
    hs.sampled_from(REPLAY_KEYS),
    hs.integers(0, 3),
    text,
)
relative_input: hs.SearchStrategy[inp.Input] = hs.one_of(
    hs.builds(inp.Results, at=hs.just(0.0), results=hs.lists(result, max_size=4)),
    hs.builds(
        inp.Acknowledge,
        at=hs.just(0.0),
        keys=keys,
        author=text,
        comment=text,
        sticky=hs.booleans(),
        notify=hs.booleans(),
        persistent=hs.booleans(),
        expire_at=hs.none() | hs.floats(0, 3000),
    ),
    hs.builds(inp.RemoveAcknowledgement, at=hs.just(0.0), keys=keys, author=text),
    hs.builds(
        lambda targets, start, length, fixed, duration, inc, rec: inp.ScheduleDowntime(
            at=0.0,
            targets=targets,
            start=start,
            end=start + length,
            fixed=fixed,
            duration=duration,
            include_services=inc,
            recurrence=rec,
            author="a",
            comment="c",
        ),
        keys,
        hs.floats(-600, 1200),
        hs.floats(1, 900) | hs.floats(1, 7200),
        hs.booleans(),
        hs.floats(0, 1800),
        hs.booleans(),
        hs.sampled_from(RECURRENCES),
    ),
    hs.builds(
        inp.RemoveDowntime,
        at=hs.just(0.0),
        ids=hs.lists(hs.integers(1, 60), max_size=2),
        author=text,
    ),
    hs.builds(inp.AddComment, at=hs.just(0.0), keys=keys, author=text, comment=text),
    hs.builds(inp.Recheck, at=hs.just(0.0), keys=keys, author=text),
    hs.just(inp.Tick(at=0.0)),
    hs.just(inp.Tick(at=0.0)),
)
"""One input with its times relative to when it is applied."""


def absolute(steps_and_inputs: list[tuple[float, inp.Input]]) -> list[inp.Input]:
    """Put the inputs on a clock that moves on by each step."""
    at = 0.0
    out: list[inp.Input] = []
    for step, item in steps_and_inputs:
        at += step
        changes: dict[str, Any] = {"at": at}
        if isinstance(item, inp.ScheduleDowntime):
            changes.update(start=at + item.start, end=at + item.end)
        if isinstance(item, inp.Acknowledge) and item.expire_at is not None:
            changes["expire_at"] = at + item.expire_at
        out.append(msgspec.structs.replace(item, **changes))
    return out


replay_steps = hs.one_of(hs.floats(0, 120), hs.floats(0, 120), hs.floats(0, 3600))
"""Mostly small moves of the clock, some big ones (ticks that end or skip downtimes)."""
input_sequences = hs.lists(hs.tuples(replay_steps, relative_input), min_size=1, max_size=40).map(
    absolute
)


def snapshot(eng: Engine) -> dict[str, Any]:
    return {
        "status": {k: (status_row(st), st.downtime_depth) for k, st in eng.status.items()},
        "events": eng.events,
        "downtimes": eng.downtimes,
        "comments": eng.comments,
        "next_id": eng.next_id,
    }


@given(input_sequences)
@settings(max_examples=200, deadline=None)
def test_replay_from_the_journal_gives_the_same_state_and_events(
    sequence: list[inp.Input],
) -> None:
    live, replayed, journaled = fresh_engine(), fresh_engine(), fresh_engine()
    for item in sequence:
        body = inp.encode(item)
        decoded = inp.decode(body)
        assert decoded == item
        assert inp.encode(decoded) == body
        done = live.apply(item)
        assert replayed.apply(decoded) == done
        # the runner journals a tick only when it changed something
        if not isinstance(item, inp.Tick) or done:
            journaled.apply(decoded)
        expected = snapshot(live)
        assert snapshot(replayed) == expected
        assert snapshot(journaled) == expected
