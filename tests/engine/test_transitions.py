"""Soft/hard states with attempts, timestamps, host problems and host reachability."""

from __future__ import annotations

import pytest

from lookout.domain.events import Event, EventType
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult
from lookout.engine.core import Engine
from lookout.engine.flapping import FlapThresholds
from lookout.engine.inputs import Results
from lookout.engine.status import Status
from lookout.engine.transitions import apply_result

PROBLEMS = [1, 2, 3]
NO_FLAP = FlapThresholds(enabled=False)


def make_engine(max_attempts: int = 3, host_attempts: int = 1) -> Engine:
    eng = Engine()
    eng.put_host(HostConfig(name="h", max_check_attempts=host_attempts), at=0.0)
    eng.put_service(
        ServiceConfig(host="h", name="s", max_check_attempts=max_attempts, stale_after=0), at=0.0
    )
    return eng


def send(eng: Engine, at: float, state: int, service: str = "s", host: str = "h") -> Status:
    eng.apply(Results(at=at, results=[CheckResult(host, service, state, f"state {state}")]))
    return eng.status[(host, service)]


def changes(eng: Engine, service: str = "s") -> list[Event]:
    return [e for e in eng.events if e.type == EventType.STATE_CHANGE and e.service == service]


# ---------------------------------------------------------------- first result
def test_first_ok_result_is_a_hard_ok_without_notification() -> None:
    eng = make_engine()
    st = send(eng, 10.0, 0)
    assert (st.state, st.hard, st.attempt, st.checked) == (0, True, 1, True)
    assert (st.last_check, st.last_ok, st.last_state_change) == (10.0, 10.0, 10.0)
    [ev] = changes(eng)
    assert ev.data["hard_change"] is False
    assert ev.data["notify"] is False


@pytest.mark.parametrize("state", PROBLEMS)
def test_first_problem_is_soft_attempt_1(state: int) -> None:
    eng = make_engine(max_attempts=3)
    st = send(eng, 10.0, state)
    assert (st.state, st.hard, st.attempt) == (state, False, 1)
    [ev] = changes(eng)
    assert (ev.state, ev.state_type, ev.attempt) == (state, "soft", 1)
    assert ev.data == {
        "old_state": 0,
        "old_hard": True,
        "hard_change": False,
        "host_problem": False,
        "notify": False,
    }


@pytest.mark.parametrize("state", PROBLEMS)
def test_max_attempts_1_goes_hard_at_once(state: int) -> None:
    eng = make_engine(max_attempts=1)
    send(eng, 5.0, 0)
    st = send(eng, 10.0, state)
    assert (st.state, st.hard, st.attempt, st.last_hard_state) == (state, True, 1, state)
    assert st.last_hard_state_change == 10.0
    ev = changes(eng)[-1]
    assert ev.state_type == "hard"
    assert ev.data["hard_change"] is True
    assert ev.data["notify"] is True


# ---------------------------------------------------------------- attempts
@pytest.mark.parametrize("state", PROBLEMS)
def test_attempts_count_up_to_hard_at_max(state: int) -> None:
    eng = make_engine(max_attempts=3)
    send(eng, 0.0, 0)
    seen = [(st.attempt, st.hard) for st in (send(eng, t, state) for t in (10.0, 20.0, 30.0))]
    assert seen == [(1, False), (2, False), (3, True)]
    evs = changes(eng)
    assert len(evs) == 3  # first OK, soft problem, hard problem (attempt 2 is not a change)
    assert (evs[-1].state_type, evs[-1].attempt, evs[-1].data["hard_change"]) == ("hard", 3, True)
    assert evs[-1].data["notify"] is True
    assert evs[-1].data["old_hard"] is False


@pytest.mark.parametrize("max_attempts", [1, 2, 3, 5])
@pytest.mark.parametrize("state", PROBLEMS)
def test_attempt_never_exceeds_max(max_attempts: int, state: int) -> None:
    eng = make_engine(max_attempts=max_attempts)
    for i in range(max_attempts + 5):
        st = send(eng, float(i), state)
        assert 1 <= st.attempt <= max_attempts
        assert st.hard is (i + 1 >= max_attempts)
    assert st.attempt == max_attempts


def test_soft_warn_to_soft_crit_is_a_soft_state_change_and_keeps_counting() -> None:
    eng = make_engine(max_attempts=3)
    send(eng, 0.0, 0)
    send(eng, 10.0, 1)
    st = send(eng, 20.0, 2)
    assert (st.state, st.hard, st.attempt) == (2, False, 2)
    ev = changes(eng)[-1]
    assert (ev.state, ev.state_type, ev.data["old_state"], ev.data["hard_change"]) == (
        2,
        "soft",
        1,
        False,
    )
    st = send(eng, 30.0, 1)
    assert (st.state, st.hard, st.attempt, st.last_hard_state) == (1, True, 3, 1)


@pytest.mark.parametrize(("old", "new"), [(1, 2), (2, 1), (1, 3), (3, 2)])
def test_problem_to_problem_while_hard_is_a_hard_change(old: int, new: int) -> None:
    eng = make_engine(max_attempts=2)
    send(eng, 0.0, 0)
    send(eng, 10.0, old)
    send(eng, 20.0, old)
    st = send(eng, 30.0, new)
    assert (st.state, st.hard, st.attempt, st.last_hard_state) == (new, True, 2, new)
    assert st.last_hard_state_change == 30.0
    ev = changes(eng)[-1]
    assert (ev.state_type, ev.data["old_state"], ev.data["old_hard"]) == ("hard", old, True)
    assert ev.data["hard_change"] is True
    assert ev.data["notify"] is True


@pytest.mark.parametrize("state", PROBLEMS)
def test_same_hard_problem_again_is_no_event(state: int) -> None:
    eng = make_engine(max_attempts=1)
    send(eng, 0.0, state)
    before = len(eng.events)
    st = send(eng, 10.0, state)
    assert len(eng.events) == before
    assert (st.last_check, st.last_state_change, st.last_hard_state_change) == (10.0, 0.0, 0.0)


# ---------------------------------------------------------------- recovery
@pytest.mark.parametrize("state", PROBLEMS)
def test_ok_resets_attempts_with_a_soft_recovery(state: int) -> None:
    eng = make_engine(max_attempts=3)
    send(eng, 0.0, 0)
    send(eng, 10.0, state)
    send(eng, 20.0, state)
    st = send(eng, 30.0, 0)
    assert (st.state, st.hard, st.attempt, st.last_hard_state) == (0, True, 1, 0)
    assert (st.last_ok, st.last_state_change, st.last_hard_state_change) == (30.0, 30.0, 0.0)
    ev = changes(eng)[-1]
    assert (ev.state, ev.attempt, ev.data["old_state"], ev.data["old_hard"]) == (0, 1, state, False)
    assert ev.state_type == "soft"  # logged as a soft recovery, as Nagios does
    assert ev.data["hard_change"] is False
    assert ev.data["notify"] is False
    st = send(eng, 40.0, state)
    assert (st.attempt, st.hard) == (1, False)  # counting starts again


@pytest.mark.parametrize("max_attempts", [1, 3])
@pytest.mark.parametrize("state", PROBLEMS)
def test_hard_recovery_is_a_hard_change(max_attempts: int, state: int) -> None:
    eng = make_engine(max_attempts=max_attempts)
    send(eng, 0.0, 0)
    for i in range(max_attempts):
        send(eng, 10.0 + i, state)
    st = send(eng, 50.0, 0)
    assert (st.state, st.hard, st.attempt, st.last_hard_state) == (0, True, 1, 0)
    assert (st.last_ok, st.last_state_change, st.last_hard_state_change) == (50.0, 50.0, 50.0)
    ev = changes(eng)[-1]
    assert (ev.state, ev.state_type, ev.data["old_state"], ev.data["old_hard"]) == (
        0,
        "hard",
        state,
        True,
    )
    assert ev.data["hard_change"] is True
    assert ev.data["notify"] is True


def test_ok_after_ok_is_the_fast_path() -> None:
    eng = make_engine()
    send(eng, 0.0, 0)
    before = len(eng.events)
    st = send(eng, 10.0, 0)
    assert len(eng.events) == before
    assert (st.last_ok, st.last_check, st.last_state_change) == (10.0, 10.0, 0.0)


# ---------------------------------------------------------------- timestamps
def test_timestamps_follow_state_and_hard_changes() -> None:
    eng = make_engine(max_attempts=2)
    steps = [
        (10.0, 0, (10.0, 0.0, 10.0)),  # first result: a state change, not a hard change
        (20.0, 1, (20.0, 0.0, 10.0)),  # soft WARN
        (30.0, 1, (20.0, 30.0, 10.0)),  # hard WARN: same state, hard change
        (40.0, 2, (40.0, 40.0, 10.0)),  # hard CRIT
        (50.0, 2, (40.0, 40.0, 10.0)),  # nothing changes
        (60.0, 0, (60.0, 60.0, 60.0)),  # hard recovery
        (70.0, 0, (60.0, 60.0, 70.0)),  # OK again: last_ok only
    ]
    for at, state, expected in steps:
        st = send(eng, at, state)
        assert (st.last_state_change, st.last_hard_state_change, st.last_ok) == expected, at
        assert st.last_check == at
        assert st.last_result == at


# ---------------------------------------------------------------- the host's state
@pytest.mark.parametrize("host_state", [1, 2])
@pytest.mark.parametrize("state", PROBLEMS)
def test_service_problem_on_a_down_host_is_hard_at_once_without_notification(
    host_state: int, state: int
) -> None:
    eng = make_engine(max_attempts=3)
    send(eng, 0.0, 0)
    send(eng, 5.0, host_state, service="")
    st = send(eng, 10.0, state)
    assert (st.state, st.hard, st.attempt, st.host_problem) == (state, True, 1, True)
    ev = changes(eng)[-1]
    assert ev.state_type == "hard"
    assert ev.data["hard_change"] is True
    assert ev.data["host_problem"] is True
    assert ev.data["notify"] is False


def test_soft_host_down_already_makes_service_problems_hard() -> None:
    eng = make_engine(max_attempts=3, host_attempts=3)
    send(eng, 0.0, 0)
    host = send(eng, 5.0, 1, service="")
    assert (host.state, host.hard) == (1, False)
    st = send(eng, 10.0, 2)
    assert (st.hard, st.host_problem) == (True, True)
    assert changes(eng)[-1].data["notify"] is False


def test_soft_service_problem_turns_hard_when_the_host_goes_down() -> None:
    eng = make_engine(max_attempts=5)
    send(eng, 0.0, 0)
    send(eng, 10.0, 2)
    send(eng, 20.0, 1, service="")
    st = send(eng, 30.0, 2)
    assert (st.hard, st.attempt, st.host_problem) == (True, 2, True)
    ev = changes(eng)[-1]
    assert ev.data["hard_change"] is True
    assert ev.data["notify"] is False


def test_host_problem_flag_clears_when_the_host_is_up_again() -> None:
    eng = make_engine(max_attempts=1)
    send(eng, 0.0, 1, service="")
    assert send(eng, 10.0, 2).host_problem is True
    send(eng, 20.0, 0, service="")
    st = send(eng, 30.0, 0)
    assert st.host_problem is False
    assert changes(eng)[-1].data["notify"] is True  # the recovery notifies


def test_host_results_never_set_host_problem() -> None:
    eng = make_engine()
    assert send(eng, 10.0, 1, service="").host_problem is False


# ---------------------------------------------------------------- reachability
def make_tree(parent_states: dict[str, int]) -> Engine:
    eng = Engine()
    for name in parent_states:
        eng.put_host(HostConfig(name=name), at=0.0)
    eng.put_host(HostConfig(name="child", parents=("p1", "p2")), at=0.0)
    for name, state in parent_states.items():
        send(eng, 1.0, state, service="", host=name)
    return eng


@pytest.mark.parametrize("parents", [{"p1": 1, "p2": 1}, {"p1": 1, "p2": 2}, {"p1": 2, "p2": 2}])
def test_down_host_whose_parents_are_all_down_is_unreachable(parents: dict[str, int]) -> None:
    eng = make_tree(parents)
    st = send(eng, 10.0, 1, service="", host="child")
    assert (st.state, st.hard) == (2, True)
    assert st.summary == "state 1 (unreachable: parents p1, p2 down)"
    ev = changes(eng, service="")[-1]
    assert (ev.host, ev.state) == ("child", 2)


@pytest.mark.parametrize("parents", [{"p1": 0, "p2": 1}, {"p1": 0, "p2": 0}, {"p1": 1}])
def test_down_host_with_a_parent_up_or_unknown_is_down(parents: dict[str, int]) -> None:
    eng = make_tree(parents)  # a parent that is not configured counts as reachable
    st = send(eng, 10.0, 1, service="", host="child")
    assert (st.state, st.summary) == (1, "state 1")


@pytest.mark.parametrize("state", [0, 2])
def test_up_or_unreachable_results_are_kept_under_down_parents(state: int) -> None:
    eng = make_tree({"p1": 1, "p2": 1})
    assert send(eng, 10.0, state, service="", host="child").state == state


# ---------------------------------------------------------------- apply_result directly
def test_apply_result_returns_none_when_nothing_changed() -> None:
    st = Status("h", "s", 0.0)
    assert apply_result(st, 0, "ok", "", 1.0, 3, True, NO_FLAP) is not None  # first result
    assert apply_result(st, 0, "ok", "", 2.0, 3, True, NO_FLAP) is None
    ch = apply_result(st, 2, "crit", "", 3.0, 3, True, NO_FLAP)
    assert ch is not None
    assert (ch.old_state, ch.old_hard, ch.state_changed, ch.hard_changed) == (0, True, True, False)
    ch = apply_result(st, 2, "crit", "", 4.0, 3, True, NO_FLAP)  # attempt 2: a soft retry
    assert ch is not None
    assert (ch.state_changed, ch.hard_changed, ch.soft_retry) == (False, False, True)
    ch = apply_result(st, 2, "crit", "", 5.0, 3, True, NO_FLAP)
    assert ch is not None
    assert (ch.state_changed, ch.hard_changed) == (False, True)
    assert (st.summary, st.last_check, st.attempt) == ("crit", 5.0, 3)


def test_apply_result_on_a_host_ignores_host_up() -> None:
    st = Status("h", "", 0.0)
    apply_result(st, 1, "down", "", 1.0, 3, False, NO_FLAP)
    assert (st.hard, st.attempt, st.host_problem) == (False, 1, False)
