"""Flap detection: weighted percent state change, start/stop thresholds, saving the history."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from lookout.domain.events import EventType
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult
from lookout.engine import flapping
from lookout.engine.core import Engine, EngineSettings
from lookout.engine.flapping import HISTORY, FlapThresholds, percent_state_change
from lookout.engine.inputs import Results
from lookout.engine.status import Status

STATES = [0, 1, 2, 3]


def alternating(n: int, a: int = 0, b: int = 2) -> list[int]:
    return [a if i % 2 == 0 else b for i in range(n)]


def digits(states: list[int]) -> str:
    """A history as :func:`flapping.encode` writes it: one digit per result, oldest first."""
    return "".join(map(str, states))


def feed(states: list[int], limits: FlapThresholds | None = None) -> tuple[Status, list[bool]]:
    """Record ``states`` into a fresh status; the flap changes that ``record`` reported."""
    st = Status("h", "s", 0.0)
    limits = limits or FlapThresholds()
    reported: list[bool] = []
    for state in states:
        change = flapping.record(st, state, limits)
        if change is not None:
            reported.append(change)
    return st, reported


# ---------------------------------------------------------------- the math
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("n", [0, 1, 2, HISTORY])
def test_no_change_is_zero(state: int, n: int) -> None:
    assert percent_state_change(digits([state] * n)) == 0.0


def test_alternating_full_history_is_100_percent() -> None:
    assert percent_state_change(digits(alternating(HISTORY))) == pytest.approx(100.0)
    st, reported = feed(alternating(HISTORY))
    assert st.percent_state_change == pytest.approx(100.0)
    assert (st.flapping, reported) == (True, [True])


@pytest.mark.parametrize(
    ("index", "expected"),
    [(1, 0.75 * 5), (HISTORY - 1, 1.25 * 5), (10, (0.75 + 0.5 * 9 / 19) * 5)],
)
def test_one_change_is_weighted_by_its_age(index: int, expected: float) -> None:
    history = "0" * index + "1" * (HISTORY - index)
    assert percent_state_change(history) == pytest.approx(expected)


def test_short_history_weights_the_newest_changes_most() -> None:
    assert percent_state_change("01") == pytest.approx(1.25 * 5)
    assert percent_state_change("011") == pytest.approx(1.25 * 5 * (1 - 0.5 / 19 / 1.25))


@given(hs.lists(hs.sampled_from(STATES), max_size=HISTORY))
@settings(max_examples=100)
def test_percent_is_between_0_and_100_and_zero_only_without_changes(history: list[int]) -> None:
    pct = percent_state_change(digits(history))
    assert 0.0 <= pct <= 100.0 + 1e-9
    changed = any(a != b for a, b in itertools.pairwise(history))
    assert (pct > 0) is changed


@given(hs.lists(hs.sampled_from(STATES), max_size=3 * HISTORY))
@settings(max_examples=100)
def test_record_keeps_the_last_21_and_their_change_count(states: list[int]) -> None:
    st, _ = feed(states, FlapThresholds(enabled=False))
    window = states[-HISTORY:]
    assert flapping.encode(st) == digits(window)
    assert st.flap_changes == sum(1 for a, b in itertools.pairwise(window) if a != b)
    assert st.percent_state_change == pytest.approx(percent_state_change(digits(window)))
    assert st.flapping is False  # disabled: never flapping


# ---------------------------------------------------------------- start and stop
@pytest.mark.parametrize(("high", "starts"), [(6.25, True), (6.26, False)])
def test_flapping_starts_at_or_above_high(high: float, starts: bool) -> None:
    # one change between the two newest of 21 results: 1.25 * 100 / 20 = 6.25 %
    st, reported = feed([0] * (HISTORY - 1) + [1], FlapThresholds(low=1.0, high=high))
    assert st.percent_state_change == pytest.approx(6.25)
    assert st.flapping is starts
    assert reported == ([True] if starts else [])


def test_flapping_stops_only_below_low() -> None:
    limits = FlapThresholds(low=5.0, high=20.0)
    st, reported = feed(alternating(HISTORY), limits)
    assert reported == [True]
    percents = []
    while st.flapping:
        change = flapping.record(st, 2, limits)
        percents.append(st.percent_state_change)
        if change is not None:
            reported.append(change)
        assert st.flapping is (st.percent_state_change >= limits.low)
    assert reported == [True, False]
    assert percents[-1] < limits.low <= percents[-2]


@pytest.mark.parametrize("flapping_before", [True, False])
def test_between_low_and_high_keeps_the_current_flapping_state(flapping_before: bool) -> None:
    limits = FlapThresholds(low=5.0, high=50.0)
    st = Status("h", "s", 0.0)
    flapping.restore(st, digits(alternating(11)) + "0" * 9)
    st.flapping = flapping_before
    assert flapping.record(st, 0, limits) is None
    assert 5.0 <= st.percent_state_change < 50.0  # 10 older changes: about 43 %
    assert st.flapping is flapping_before


# ---------------------------------------------------------------- engine events
def make_engine() -> Engine:
    eng = Engine(EngineSettings(service_flap=FlapThresholds(low=5.0, high=20.0)))
    eng.put_host(HostConfig(name="h"), at=0.0)
    eng.put_service(ServiceConfig(host="h", name="s", max_check_attempts=1, stale_after=0), at=0.0)
    return eng


def test_engine_emits_flapping_start_and_stop_and_does_not_notify_while_flapping() -> None:
    eng = make_engine()
    at = 0.0
    for state in alternating(HISTORY):
        at += 1.0
        eng.apply(Results(at=at, results=[CheckResult("h", "s", state)]))
    [start] = [e for e in eng.events if e.type == EventType.FLAPPING_START]
    st = eng.status[("h", "s")]
    assert st.flapping is True
    assert start.summary.startswith("percent state change ")
    assert start.summary.endswith("%")
    later = [e for e in eng.events if e.type == EventType.STATE_CHANGE and e.id > start.id]
    assert later
    assert all(e.data["notify"] is False for e in later)
    before = [e for e in eng.events if e.type == EventType.STATE_CHANGE and e.id < start.id]
    assert any(e.data["notify"] for e in before)
    while st.flapping:
        at += 1.0
        eng.apply(Results(at=at, results=[CheckResult("h", "s", 2)]))
    [stop] = [e for e in eng.events if e.type == EventType.FLAPPING_STOP]
    assert (stop.id > start.id, stop.at, stop.state) == (True, at, 2)


def test_flapping_stop_on_ok_after_ok_is_reported() -> None:
    # OK -> OK takes the fast path of apply_result; the flapping change must still come out
    eng = Engine(EngineSettings(service_flap=FlapThresholds(low=5.0, high=90.0)))
    eng.put_host(HostConfig(name="h"), at=0.0)
    eng.put_service(ServiceConfig(host="h", name="s", stale_after=0), at=0.0)
    for i, state in enumerate([*alternating(HISTORY, 2, 0), *[0] * HISTORY]):
        eng.apply(Results(at=float(i), results=[CheckResult("h", "s", state)]))
    flaps = [e for e in eng.events if e.type.startswith("flapping")]
    assert [e.type for e in flaps] == [EventType.FLAPPING_START, EventType.FLAPPING_STOP]
    assert flaps[-1].state == 0
    assert eng.status[("h", "s")].flapping is False


def test_host_flapping_uses_the_host_thresholds() -> None:
    eng = Engine(EngineSettings(host_flap=FlapThresholds(enabled=False)))
    eng.put_host(HostConfig(name="h"), at=0.0)
    for i, state in enumerate(alternating(HISTORY, 0, 1)):
        eng.apply(Results(at=float(i), results=[CheckResult("h", "", state)]))
    assert eng.status[("h", "")].flapping is False
    assert not [e for e in eng.events if e.type.startswith("flapping")]


# ---------------------------------------------------------------- saving the history
@given(hs.lists(hs.sampled_from(STATES), max_size=3 * HISTORY), hs.lists(hs.sampled_from(STATES)))
@settings(max_examples=100)
def test_restore_of_encode_continues_exactly(before: list[int], after: list[int]) -> None:
    limits = FlapThresholds()
    original, _ = feed(before, limits)
    encoded = flapping.encode(original)
    assert len(encoded) == min(len(before), HISTORY)
    copy = Status("h", "s", 0.0)
    flapping.restore(copy, encoded)
    copy.flapping = original.flapping
    assert copy.flap_changes == original.flap_changes
    assert flapping.encode(copy) == encoded
    for state in after:
        assert flapping.record(copy, state, limits) == flapping.record(original, state, limits)
        assert copy.percent_state_change == original.percent_state_change
        assert copy.flap_changes == original.flap_changes


def test_restore_keeps_only_the_newest_21() -> None:
    st = Status("h", "s", 0.0)
    flapping.restore(st, "0" * 10 + "1" * 21)
    assert flapping.encode(st) == "1" * HISTORY
    assert st.flap_changes == 0
    flapping.restore(st, "")
    assert (flapping.encode(st), st.flap_changes) == ("", 0)
