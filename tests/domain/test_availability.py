"""Availability of one object from its changes: counted states, downtime modes, host down,
unmonitored time, outages and SLA verdicts."""

from __future__ import annotations

import pytest

from lookout.domain.availability import (
    DT_END,
    DT_START,
    HOST,
    STATE,
    Change,
    DowntimeMode,
    Options,
    change,
    compute,
)

DAY = 86400.0


def state(at: float, value: int, hard: bool = True) -> Change:
    return change(at, STATE, value, hard)


def test_a_month_with_one_outage() -> None:
    opts = Options(0.0, 30 * DAY, sla=99.0)
    r = compute("web", "http", opts, (0, True), 0.0, [state(DAY, 2), state(DAY + 3600, 0)])
    assert r.seconds["crit"] == 3600
    assert r.seconds["ok"] == 30 * DAY - 3600
    assert r.percent == pytest.approx(100 * (1 - 3600 / (30 * DAY)))
    assert r.sla_met is True
    [outage] = r.outages
    assert (outage.start, outage.end, outage.state, outage.ongoing) == (DAY, DAY + 3600, 2, False)


def test_soft_problems_count_only_when_asked() -> None:
    changes = [state(100, 1, hard=False), state(160, 0, hard=False)]
    hard_only = compute("h", "s", Options(0, 1000), (0, True), 0, changes)
    assert hard_only.seconds["warn"] == 0
    assert hard_only.outages == []
    with_soft = compute("h", "s", Options(0, 1000, soft_states=True), (0, True), 0, changes)
    assert with_soft.seconds["warn"] == 60


def test_a_problem_running_at_the_end_is_an_ongoing_outage_merged_across_states() -> None:
    changes = [state(100, 1), state(200, 2), state(300, 3)]
    r = compute("h", "s", Options(0, 1000), (0, True), 0, changes)
    [outage] = r.outages
    assert (outage.start, outage.end, outage.state, outage.ongoing) == (100, 1000, 2, True)
    assert (r.seconds["warn"], r.seconds["crit"], r.seconds["unknown"]) == (100, 100, 700)


@pytest.mark.parametrize(
    ("mode", "ok", "crit", "downtime", "percent"),
    [
        (DowntimeMode.SEPARATE, 800, 0, 200, 100.0),
        (DowntimeMode.OK, 1000, 0, 0, 100.0),
        (DowntimeMode.IGNORE, 800, 200, 0, 80.0),
    ],
)
def test_downtime_modes(
    mode: DowntimeMode, ok: float, crit: float, downtime: float, percent: float
) -> None:
    changes = [
        change(400, DT_START, downtime_id=7),
        state(450, 2),
        state(600, 0),
        change(600, DT_END, downtime_id=7),
    ]
    changes.insert(0, state(400, 2))  # the maintenance broke it right away
    changes.sort(key=lambda c: c[0])
    r = compute("h", "s", Options(0, 1000, downtime=mode), (0, True), 0, changes)
    assert (r.seconds["ok"], r.seconds["crit"], r.seconds["downtime"]) == (ok, crit, downtime)
    assert r.percent == pytest.approx(percent)


def test_a_downtime_running_at_the_start_counts_from_the_start() -> None:
    r = compute("h", "s", Options(0, 100), (2, True), 0, [change(30, DT_END, downtime_id=1)], [1])
    assert (r.seconds["downtime"], r.seconds["crit"]) == (30, 70)


def test_time_with_the_host_down_is_its_own_column_when_asked() -> None:
    changes = [change(100, HOST, 1), state(101, 3), change(300, HOST, 0), state(301, 0)]
    plain = compute("h", "s", Options(0, 1000), (0, True), 0, changes)
    assert plain.seconds["host_down"] == 0
    split = compute("h", "s", Options(0, 1000, host_down=True), (0, True), 0, changes)
    assert (split.seconds["host_down"], split.seconds["unknown"]) == (200, 1)


def test_before_it_was_created_an_object_is_unmonitored() -> None:
    r = compute("h", "", Options(0, 1000, sla=99.9), None, 600, [state(800, 1)])
    assert r.seconds["unmonitored"] == 600
    assert (r.seconds["up"], r.seconds["down"]) == (200, 200)
    assert r.percent == pytest.approx(50.0)
    assert r.sla_met is False


def test_no_counted_time_has_no_percent_and_no_verdict() -> None:
    r = compute("h", "s", Options(0, 100, sla=99), None, 100, [])
    assert r.seconds["unmonitored"] == 100
    assert r.percent is None
    assert r.sla_met is None
