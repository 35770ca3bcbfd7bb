"""How problems are handled: acknowledgements, downtimes, staleness, comments, rechecks."""

from __future__ import annotations

import pytest

from lookout.domain.events import Event, EventType
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult
from lookout.engine.core import Engine, Key
from lookout.engine.inputs import (
    Acknowledge,
    AddComment,
    Recheck,
    RemoveAcknowledgement,
    RemoveDowntime,
    Results,
    ScheduleDowntime,
    Tick,
)
from lookout.engine.status import Status

S1: Key = ("h", "s1")
S2: Key = ("h", "s2")
HOST: Key = ("h", "")
HOUR = 3600.0


def make_engine(max_attempts: int = 1) -> Engine:
    eng = Engine()
    eng.put_host(HostConfig(name="h"), at=0.0)
    for name in ("s1", "s2"):
        eng.put_service(
            ServiceConfig(host="h", name=name, max_check_attempts=max_attempts, stale_after=0),
            at=0.0,
        )
    return eng


def send(eng: Engine, at: float, state: int, key: Key = S1) -> Status:
    eng.apply(Results(at=at, results=[CheckResult(key[0], key[1], state, f"state {state}")]))
    return eng.status[key]


def ack(
    eng: Engine,
    at: float,
    key: Key = S1,
    *,
    sticky: bool = True,
    persistent: bool = False,
    expire_at: float | None = None,
) -> list[Key]:
    item = Acknowledge(
        at=at,
        keys=[key],
        author="ann",
        comment="on it",
        sticky=sticky,
        persistent=persistent,
        expire_at=expire_at,
    )
    done: list[Key] = eng.apply(item)
    return done


def downtime(
    eng: Engine,
    at: float,
    start: float,
    end: float,
    key: Key = S1,
    *,
    fixed: bool = True,
    duration: float = 0.0,
    include_services: bool = False,
    recurrence: str = "",
) -> int:
    item = ScheduleDowntime(
        at=at,
        targets=[key],
        start=start,
        end=end,
        fixed=fixed,
        duration=duration,
        include_services=include_services,
        recurrence=recurrence,
        author="bob",
        comment="maint",
    )
    [dt_id] = eng.apply(item)
    return int(dt_id)


def tick(eng: Engine, at: float) -> int:
    n: int = eng.apply(Tick(at=at))
    return n


def of_type(eng: Engine, type_: EventType) -> list[Event]:
    return [e for e in eng.events if e.type == type_]


def last_change(eng: Engine, key: Key = S1) -> Event:
    return [e for e in of_type(eng, EventType.STATE_CHANGE) if (e.host, e.service) == key][-1]


# ================================================================ acknowledgements
@pytest.mark.parametrize("state", [None, 0])
def test_ack_on_ok_or_pending_does_nothing(state: int | None) -> None:
    eng = make_engine()
    if state is not None:
        send(eng, 1.0, state)
    assert ack(eng, 2.0) == []
    assert eng.status[S1].ack is None
    assert not of_type(eng, EventType.ACK_SET)
    assert eng.comments == {}


@pytest.mark.parametrize("sticky", [True, False])
@pytest.mark.parametrize("state", [1, 2, 3])
def test_ack_on_a_problem_sets_ack_comment_and_event(sticky: bool, state: int) -> None:
    eng = make_engine()
    send(eng, 1.0, state)
    assert ack(eng, 2.0, sticky=sticky, expire_at=99.0) == [S1]
    a = eng.status[S1].ack
    assert a is not None
    assert (a.author, a.comment, a.sticky, a.set_at, a.expire_at) == (
        "ann",
        "on it",
        sticky,
        2.0,
        99.0,
    )
    comment = eng.comments[a.comment_id]
    assert (comment.kind, comment.text, comment.author, comment.persistent) == (
        "ack",
        "on it",
        "ann",
        False,
    )
    [ev] = of_type(eng, EventType.ACK_SET)
    assert (ev.service, ev.state, ev.data["sticky"], ev.data["expire_at"]) == (
        "s1",
        state,
        sticky,
        99.0,
    )


@pytest.mark.parametrize(
    ("sticky", "old", "new", "kept"),
    [
        (False, 1, 2, False),
        (False, 2, 1, False),
        (False, 2, 3, False),
        (False, 2, 0, False),
        (True, 1, 2, True),
        (True, 2, 1, True),
        (True, 2, 3, True),
        (True, 1, 0, False),
        (True, 3, 0, False),
        (False, 2, 2, True),
        (True, 2, 2, True),
    ],
)
def test_ack_survives_state_changes_by_stickiness(
    sticky: bool, old: int, new: int, kept: bool
) -> None:
    eng = make_engine()
    send(eng, 1.0, old)
    ack(eng, 2.0, sticky=sticky)
    before = eng.status[S1].ack
    send(eng, 3.0, new)
    assert (eng.status[S1].ack is before) is kept
    removed = of_type(eng, EventType.ACK_REMOVED)
    assert len(removed) == (0 if kept else 1)
    if not kept:
        assert (removed[0].comment, removed[0].at) == ("state changed", 3.0)


def test_non_sticky_ack_survives_soft_to_hard_of_the_same_state() -> None:
    eng = make_engine(max_attempts=3)
    send(eng, 1.0, 2)
    ack(eng, 2.0, sticky=False)
    for at in (3.0, 4.0):
        send(eng, at, 2)
    st = eng.status[S1]
    assert st.hard is True
    assert st.ack is not None
    assert last_change(eng).data["notify"] is False  # acknowledged: no notification


def test_sticky_ack_suppresses_the_warn_to_crit_notification() -> None:
    eng = make_engine()
    send(eng, 1.0, 1)
    ack(eng, 2.0, sticky=True)
    send(eng, 3.0, 2)
    ev = last_change(eng)
    assert ev.data["hard_change"] is True
    assert ev.data["notify"] is False


def test_non_sticky_ack_cleared_by_warn_to_crit_notifies_again() -> None:
    eng = make_engine()
    send(eng, 1.0, 1)
    ack(eng, 2.0, sticky=False)
    send(eng, 3.0, 2)
    assert last_change(eng).data["notify"] is True


def test_recovery_clears_ack_and_notifies() -> None:
    eng = make_engine()
    send(eng, 1.0, 2)
    ack(eng, 2.0)
    send(eng, 3.0, 0)
    assert eng.status[S1].ack is None
    assert last_change(eng).data["notify"] is True
    removed, change = eng.events[-2:]
    assert (removed.type, change.type) == (EventType.ACK_REMOVED, EventType.STATE_CHANGE)


def test_ack_expires_by_tick() -> None:
    eng = make_engine()
    send(eng, 1.0, 2)
    ack(eng, 2.0, expire_at=100.0)
    assert tick(eng, 99.9) == 0
    assert eng.status[S1].ack is not None
    assert tick(eng, 100.0) > 0
    assert eng.status[S1].ack is None
    [removed] = of_type(eng, EventType.ACK_REMOVED)
    assert (removed.at, removed.comment) == (100.0, "expired")
    assert eng.comments == {}


@pytest.mark.parametrize("persistent", [True, False])
def test_ack_comment_kept_only_when_persistent(persistent: bool) -> None:
    eng = make_engine()
    send(eng, 1.0, 2)
    ack(eng, 2.0, persistent=persistent)
    cid = eng.status[S1].ack.comment_id  # type: ignore[union-attr]
    assert eng.comments[cid].persistent is persistent
    send(eng, 3.0, 0)
    assert (cid in eng.comments) is persistent


def test_remove_acknowledgement() -> None:
    eng = make_engine()
    send(eng, 1.0, 2)
    ack(eng, 2.0)
    item = RemoveAcknowledgement(at=3.0, keys=[S1, S2, ("h", "nope")], author="cid")
    assert eng.apply(item) == [S1]
    assert eng.status[S1].ack is None
    [removed] = of_type(eng, EventType.ACK_REMOVED)
    assert (removed.author, removed.comment) == ("cid", "removed")
    assert eng.comments == {}


def test_a_new_ack_replaces_the_old_one() -> None:
    eng = make_engine()
    send(eng, 1.0, 2)
    ack(eng, 2.0, sticky=True)
    old_cid = eng.status[S1].ack.comment_id  # type: ignore[union-attr]
    ack(eng, 3.0, sticky=False)
    a = eng.status[S1].ack
    assert a is not None
    assert (a.sticky, a.set_at) == (False, 3.0)
    assert old_cid not in eng.comments
    assert a.comment_id in eng.comments
    [removed] = of_type(eng, EventType.ACK_REMOVED)
    assert removed.comment == "replaced"


# ================================================================ fixed downtimes
def test_fixed_downtime_starts_and_ends_by_tick() -> None:
    eng = make_engine()
    dt_id = downtime(eng, 0.0, 100.0, 200.0)
    [scheduled] = of_type(eng, EventType.DOWNTIME_SCHEDULED)
    assert scheduled.data["downtime_id"] == dt_id
    assert (scheduled.author, scheduled.comment) == ("bob", "maint")
    assert tick(eng, 99.0) == 0
    assert eng.status[S1].in_downtime is False
    assert tick(eng, 100.0) > 0
    assert eng.status[S1].in_downtime is True
    assert eng.downtimes[dt_id].started_at == 100.0
    assert eng.status[S2].in_downtime is False
    assert tick(eng, 199.0) == 0
    assert tick(eng, 200.0) > 0
    assert eng.status[S1].in_downtime is False
    assert dt_id not in eng.downtimes
    types = [e.type for e in eng.events]
    assert types == [
        EventType.DOWNTIME_SCHEDULED,
        EventType.DOWNTIME_START,
        EventType.DOWNTIME_END,
    ]
    start, end = eng.events[1:]
    assert (start.at, end.at, start.service, end.data["downtime_id"]) == (100.0, 200.0, "s1", dt_id)


def test_downtime_scheduled_inside_its_window_starts_at_once() -> None:
    eng = make_engine()
    downtime(eng, 50.0, 0.0, 200.0)
    assert eng.status[S1].in_downtime is True
    assert eng.events[-1].type == EventType.DOWNTIME_START


def test_downtime_for_an_unknown_object_is_skipped() -> None:
    eng = make_engine()
    item = ScheduleDowntime(
        at=0.0, targets=[("h", "nope"), S2], start=0.0, end=10.0, author="a", comment="c"
    )
    ids = eng.apply(item)
    assert [eng.downtimes[i].service for i in ids] == ["s2"]


@pytest.mark.parametrize("state", [1, 2, 3])
def test_no_notification_while_in_downtime(state: int) -> None:
    eng = make_engine()
    downtime(eng, 0.0, 0.0, 100.0)
    send(eng, 10.0, state)
    ev = last_change(eng)
    assert ev.data["hard_change"] is True
    assert ev.data["notify"] is False
    send(eng, 20.0, 0)
    assert last_change(eng).data["notify"] is False
    tick(eng, 100.0)
    send(eng, 110.0, state)
    assert last_change(eng).data["notify"] is True


def test_host_downtime_without_services_silences_but_does_not_cover_services() -> None:
    eng = make_engine()
    downtime(eng, 0.0, 0.0, 100.0, key=HOST)
    assert eng.status[HOST].in_downtime is True
    assert eng.status[S1].in_downtime is False
    send(eng, 10.0, 2)
    assert last_change(eng).data["notify"] is False  # the host is in downtime
    send(eng, 20.0, 1, key=HOST)
    assert last_change(eng, HOST).data["notify"] is False


def test_host_downtime_with_services_covers_services_including_later_ones() -> None:
    eng = make_engine()
    dt_id = downtime(eng, 0.0, 10.0, 100.0, key=HOST, include_services=True)
    assert eng.downtimes[dt_id].include_services is True
    assert not any(st.in_downtime for st in eng.status.values())
    tick(eng, 10.0)
    assert all(st.in_downtime for st in eng.status.values())
    eng.put_service(ServiceConfig(host="h", name="s3", stale_after=0), at=20.0)
    assert eng.status[("h", "s3")].in_downtime is True
    tick(eng, 100.0)
    assert not any(st.in_downtime for st in eng.status.values())
    # only the host's status gets the start and end events
    assert {(e.host, e.service) for e in eng.events} == {HOST}


def test_service_downtime_ignores_include_services() -> None:
    eng = make_engine()
    dt_id = downtime(eng, 0.0, 0.0, 100.0, include_services=True)
    assert eng.downtimes[dt_id].include_services is False
    assert eng.status[HOST].in_downtime is False


def test_overlapping_downtimes_nest() -> None:
    eng = make_engine()
    downtime(eng, 0.0, 0.0, 100.0, key=HOST, include_services=True)
    downtime(eng, 0.0, 0.0, 50.0)
    assert eng.status[S1].downtime_depth == 2
    tick(eng, 50.0)
    assert eng.status[S1].in_downtime is True
    tick(eng, 100.0)
    assert eng.status[S1].in_downtime is False


def test_downtime_missed_entirely_by_the_clock_leaves_no_trace() -> None:
    eng = make_engine()
    dt_id = downtime(eng, 0.0, 100.0, 200.0)
    tick(eng, 300.0)
    assert dt_id not in eng.downtimes
    assert eng.status[S1].in_downtime is False
    assert not of_type(eng, EventType.DOWNTIME_START)


# ================================================================ flexible downtimes
def flexible(eng: Engine, at: float = 0.0, key: Key = S1, include_services: bool = False) -> int:
    return downtime(
        eng, at, 100.0, 300.0, key, fixed=False, duration=50.0, include_services=include_services
    )


def test_flexible_downtime_starts_at_the_first_problem_and_lasts_duration() -> None:
    eng = make_engine(max_attempts=3)
    dt_id = flexible(eng)
    send(eng, 90.0, 0)
    assert tick(eng, 100.0) == 0  # the window opens: nothing happens by itself
    assert eng.status[S1].in_downtime is False
    send(eng, 150.0, 2)  # soft problem
    assert eng.status[S1].in_downtime is True
    assert eng.downtimes[dt_id].started_at == 150.0
    [start] = of_type(eng, EventType.DOWNTIME_START)
    assert start.at == 150.0
    send(eng, 160.0, 2)
    send(eng, 170.0, 2)  # hard now, in downtime: no notification
    assert last_change(eng).data["notify"] is False
    tick(eng, 199.0)
    assert eng.status[S1].in_downtime is True
    tick(eng, 200.0)
    assert eng.status[S1].in_downtime is False
    assert dt_id not in eng.downtimes
    [end] = of_type(eng, EventType.DOWNTIME_END)
    assert end.at == 200.0


@pytest.mark.parametrize("state", [1, 2, 3])
def test_problem_that_starts_a_flexible_downtime_does_not_notify(state: int) -> None:
    eng = make_engine(max_attempts=1)
    flexible(eng)
    send(eng, 90.0, 0)
    send(eng, 150.0, state)  # hard at once
    assert eng.status[S1].in_downtime is True
    ev = last_change(eng)
    assert ev.data["hard_change"] is True
    assert ev.data["notify"] is False


def test_host_flexible_downtime_is_started_by_a_host_problem_and_covers_services() -> None:
    eng = make_engine()
    flexible(eng, key=HOST, include_services=True)
    send(eng, 150.0, 2)  # a service problem does not start the host's downtime
    assert eng.status[HOST].in_downtime is False
    send(eng, 160.0, 1, key=HOST)
    assert all(st.in_downtime for st in eng.status.values())
    tick(eng, 210.0)
    assert not any(st.in_downtime for st in eng.status.values())


def test_flexible_downtime_already_in_a_problem_starts_when_the_window_opens() -> None:
    eng = make_engine()
    send(eng, 10.0, 2)
    dt_id = flexible(eng, at=20.0)
    assert eng.status[S1].in_downtime is False
    assert tick(eng, 100.0) > 0
    assert eng.downtimes[dt_id].started_at == 100.0
    assert eng.status[S1].in_downtime is True


def test_flexible_downtime_scheduled_during_a_problem_inside_its_window_starts_at_once() -> None:
    eng = make_engine()
    send(eng, 110.0, 2)
    dt_id = flexible(eng, at=120.0)
    assert eng.downtimes[dt_id].started_at == 120.0
    assert eng.status[S1].in_downtime is True


@pytest.mark.parametrize("at", [50.0, 310.0])
def test_problem_outside_the_window_does_not_start_a_flexible_downtime(at: float) -> None:
    eng = make_engine()
    flexible(eng)
    send(eng, 1.0, 0)
    send(eng, at, 2)
    assert eng.status[S1].in_downtime is False


def test_flexible_downtime_expires_without_starting() -> None:
    eng = make_engine()
    dt_id = flexible(eng)
    send(eng, 150.0, 0)
    assert tick(eng, 299.0) == 0
    assert tick(eng, 300.0) > 0  # a change: the runner must journal this tick
    assert dt_id not in eng.downtimes
    assert eng.downtimes_changed is True
    assert not of_type(eng, EventType.DOWNTIME_START)
    assert not of_type(eng, EventType.DOWNTIME_END)


# ================================================================ recurring downtimes
def test_recurring_downtime_moves_to_the_next_occurrence() -> None:
    eng = make_engine()
    dt_id = downtime(eng, 0.0, HOUR, HOUR + 600.0, recurrence="0 * * * *")
    tick(eng, HOUR)
    assert eng.status[S1].in_downtime is True
    tick(eng, HOUR + 600.0)
    dt = eng.downtimes[dt_id]
    assert (dt.start, dt.end, dt.started_at) == (2 * HOUR, 2 * HOUR + 600.0, None)
    assert eng.status[S1].in_downtime is False
    tick(eng, 2 * HOUR)
    assert eng.status[S1].in_downtime is True
    assert len(of_type(eng, EventType.DOWNTIME_START)) == 2
    assert len(of_type(eng, EventType.DOWNTIME_END)) == 1


def test_recurring_downtime_back_to_back_occurrences_do_not_leave_a_gap() -> None:
    eng = make_engine()
    dt_id = downtime(eng, 0.0, 600.0, 1200.0, recurrence="*/10 * * * *")
    tick(eng, 600.0)
    tick(eng, 1200.0)  # the next occurrence starts right when this one ends
    dt = eng.downtimes[dt_id]
    assert (dt.start, dt.end, dt.started_at) == (1200.0, 1800.0, 1200.0)
    assert eng.status[S1].in_downtime is True


def test_recurring_downtime_whose_end_passed_unnoticed_goes_to_the_next_one() -> None:
    eng = make_engine()
    dt_id = downtime(eng, 0.0, HOUR, HOUR + 600.0, recurrence="0 * * * *")
    assert tick(eng, 3 * HOUR + 900.0) > 0  # a change: journal it
    dt = eng.downtimes[dt_id]
    assert (dt.start, dt.end) == (4 * HOUR, 4 * HOUR + 600.0)
    assert eng.status[S1].in_downtime is False


def test_recurring_flexible_downtime_comes_back_after_an_unused_window() -> None:
    eng = make_engine()
    dt_id = downtime(
        eng, 0.0, HOUR, HOUR + 600.0, fixed=False, duration=60.0, recurrence="0 * * * *"
    )
    tick(eng, HOUR + 600.0)
    dt = eng.downtimes[dt_id]
    assert (dt.start, dt.end, dt.started_at) == (2 * HOUR, 2 * HOUR + 600.0, None)
    send(eng, 2 * HOUR + 10.0, 2)
    assert eng.status[S1].in_downtime is True
    tick(eng, 2 * HOUR + 70.0)
    assert eng.status[S1].in_downtime is False
    assert eng.downtimes[dt_id].start == 3 * HOUR


# ================================================================ cancelling
@pytest.mark.parametrize("include_services", [True, False])
def test_remove_active_downtime_cancels_and_clears_coverage(include_services: bool) -> None:
    eng = make_engine()
    dt_id = downtime(eng, 0.0, 0.0, 100.0, key=HOST, include_services=include_services)
    assert eng.status[S1].in_downtime is include_services
    done = eng.apply(RemoveDowntime(at=10.0, ids=[dt_id, 999], author="cid"))
    assert done == [dt_id]
    assert not any(st.in_downtime for st in eng.status.values())
    assert dt_id not in eng.downtimes
    [cancel] = of_type(eng, EventType.DOWNTIME_CANCEL)
    assert (cancel.at, cancel.author, cancel.comment, cancel.data["downtime_id"]) == (
        10.0,
        "cid",
        "maint",
        dt_id,
    )
    assert tick(eng, 100.0) == 0
    assert not of_type(eng, EventType.DOWNTIME_END)


def test_remove_pending_downtime_cancels_it_before_it_starts() -> None:
    eng = make_engine()
    dt_id = downtime(eng, 0.0, 50.0, 100.0)
    eng.apply(RemoveDowntime(at=10.0, ids=[dt_id], author="cid", comment="not needed"))
    assert of_type(eng, EventType.DOWNTIME_CANCEL)[0].comment == "not needed"
    tick(eng, 60.0)
    assert eng.status[S1].in_downtime is False
    assert not of_type(eng, EventType.DOWNTIME_START)


def test_cancel_of_one_of_two_downtimes_keeps_the_other() -> None:
    eng = make_engine()
    first = downtime(eng, 0.0, 0.0, 100.0)
    downtime(eng, 0.0, 0.0, 100.0)
    eng.apply(RemoveDowntime(at=10.0, ids=[first], author="cid"))
    assert eng.status[S1].in_downtime is True


# ================================================================ staleness
def make_passive(stale_after: float = 3.0) -> Engine:
    eng = Engine()
    eng.put_host(HostConfig(name="h"), at=0.0)
    eng.put_service(
        ServiceConfig(
            host="h",
            name="p",
            check_interval=60.0,
            retry_interval=10.0,
            max_check_attempts=3,
            stale_after=stale_after,
        ),
        at=0.0,
    )
    return eng


P: Key = ("h", "p")
STALE_SUMMARY = "No result for {:.1f} min (expected every 60 s; stale after 3 intervals)"


def test_passive_service_goes_stale_counts_attempts_turns_hard_and_recovers() -> None:
    eng = make_passive()
    send(eng, 0.0, 0, key=P)
    st = eng.status[P]
    assert tick(eng, 179.0) == 0
    assert (st.state, st.stale) == (0, False)
    assert tick(eng, 180.0) > 0
    assert (st.state, st.hard, st.attempt, st.stale) == (3, False, 1, True)
    assert st.summary == STALE_SUMMARY.format(3.0)
    assert st.last_result == 0.0
    assert tick(eng, 189.0) == 0  # retry interval: 10 s
    assert tick(eng, 190.0) > 0
    assert (st.attempt, st.hard) == (2, False)
    assert tick(eng, 200.0) > 0
    assert (st.attempt, st.hard, st.stale) == (3, True, True)
    assert st.summary == STALE_SUMMARY.format(200.0 / 60.0)
    ev = last_change(eng, P)
    assert (ev.state, ev.state_type, ev.data["hard_change"], ev.data["notify"]) == (
        3,
        "hard",
        True,
        True,
    )
    assert tick(eng, 259.0) == 0  # hard now: check interval
    assert tick(eng, 260.0) > 0
    assert (st.state, st.hard, st.attempt) == (3, True, 3)
    send(eng, 270.0, 0, key=P)
    assert (st.state, st.hard, st.attempt, st.stale, st.last_result) == (0, True, 1, False, 270.0)
    ev = last_change(eng, P)
    assert (ev.state, ev.data["hard_change"]) == (0, True)
    assert tick(eng, 270.0 + 179.0) == 0


def test_a_result_resets_the_staleness_clock() -> None:
    eng = make_passive()
    send(eng, 100.0, 0, key=P)
    assert tick(eng, 279.0) == 0
    assert tick(eng, 280.0) > 0


def test_a_never_seen_service_goes_stale_from_its_creation() -> None:
    eng = make_passive()
    assert tick(eng, 180.0) > 0
    assert eng.status[P].state == 3


def test_stale_after_0_disables_staleness() -> None:
    eng = make_passive(stale_after=0)
    assert tick(eng, 1e9) == 0
    assert eng.status[P].stale is False


# ================================================================ comments, rechecks
def test_add_comment() -> None:
    eng = make_engine()
    ids = eng.apply(AddComment(at=5.0, keys=[S1, ("h", "nope"), HOST], author="dan", comment="hi"))
    assert len(ids) == 2
    c = eng.comments[ids[0]]
    assert (c.host, c.service, c.at, c.author, c.text, c.kind, c.persistent) == (
        "h",
        "s1",
        5.0,
        "dan",
        "hi",
        "user",
        True,
    )
    assert [(e.type, e.service) for e in eng.events] == [
        (EventType.COMMENT, "s1"),
        (EventType.COMMENT, ""),
    ]
    send(eng, 6.0, 2)
    send(eng, 7.0, 0)
    assert set(ids) <= set(eng.comments)  # user comments stay


def test_recheck_emits_an_event_and_calls_back() -> None:
    eng = make_engine()
    asked: list[Key] = []
    eng.on_recheck = asked.append
    assert eng.apply(Recheck(at=1.0, keys=[S1, ("x", "")], author="eve")) == [S1]
    assert asked == [S1]
    assert [e.type for e in eng.events] == [EventType.RECHECK]


def test_event_ids_increase() -> None:
    eng = make_engine()
    send(eng, 1.0, 2)
    ack(eng, 2.0)
    downtime(eng, 3.0, 0.0, 10.0)
    tick(eng, 10.0)
    ids = [e.id for e in eng.events]
    assert ids == sorted(set(ids))
