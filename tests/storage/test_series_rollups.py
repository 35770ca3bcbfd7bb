"""Rollups of the series store: points sent again after their rollup, and the incremental
downsampling pass (``roll_up``) that each checkpoint advances by a bounded number of series."""

from __future__ import annotations

import sqlalchemy as sa
from test_series import (
    DAY,
    LAG,
    T0,
    averages,
    flush,
    prune,
    query,
    raw_points,
    rollups,
    series_ids,
    watermarks,
)

from lookout.domain.metrics import Metric
from lookout.storage.series import SeriesStore

HOUR = 3600.0


def add(store: SeriesStore, offset: float, value: float, service: str = "CPU load") -> None:
    store.add("web1", service, [Metric("load1", value)], T0 + offset)


def roll_up(engine: sa.Engine, store: SeriesStore, now: float) -> bool:
    with engine.begin() as conn:
        return store.roll_up(conn, now)


def test_a_point_sent_again_after_its_rollup_is_counted_once(schema_engine: sa.Engine) -> None:
    engine = schema_engine
    store = SeriesStore()
    add(store, 10, 1.0)
    add(store, 3700, 4.0)
    flush(engine, store)
    prune(engine, store, T0 + HOUR + LAG)
    sid = series_ids(engine)["web1", "CPU load", "load1"]
    assert rollups(engine, sid, 300) == [(T0, 1, 1.0, 1.0, 1.0)]
    add(store, 10, 5.0)  # the same result again (a retried push), with another value
    flush(engine, store)
    assert rollups(engine, sid, 300) == [(T0, 1, 5.0, 1.0, 5.0)]
    assert rollups(engine, sid, 3600) == [(T0, 1, 5.0, 1.0, 5.0)]
    add(store, 10, 2.0)  # and once more: the difference to the latest value
    add(store, 20, 3.0)  # a new late point still counts
    flush(engine, store)
    assert rollups(engine, sid, 300) == [(T0, 2, 5.0, 1.0, 5.0)]
    points = raw_points(engine, sid)
    assert points == [(T0 + 10, 2.0), (T0 + 20, 3.0), (T0 + 3700, 4.0)]
    for step in (60, 300, 3600):
        want = averages(points, T0, T0 + HOUR + 299, step)
        assert query(engine, store, "load1", T0, T0 + HOUR + 299, step) == {"load1": want}


def test_roll_up_advances_a_bounded_number_of_series(schema_engine: sa.Engine) -> None:
    engine = schema_engine
    store = SeriesStore(rollup_rows=2)
    services = [f"svc{i}" for i in range(5)]
    for minute in range(0, 65, 5):
        for i, service in enumerate(services):
            add(store, minute * 60, float(minute + i), service)
    flush(engine, store)
    ids = series_ids(engine)
    now = T0 + HOUR + LAG
    assert [roll_up(engine, store, now) for _ in range(2)] == [False, False]
    assert watermarks(engine) == {}  # queries still read every bucket from the chunks
    done = [len(rollups(engine, ids["web1", s, "load1"], 300)) for s in services]
    assert done == [12, 12, 12, 12, 0]
    for start, end, step in ((T0, T0 + HOUR, 300), (T0, T0 + HOUR, 3600)):
        for i, service in enumerate(services):
            points = [(T0 + m * 60, float(m + i)) for m in range(0, 65, 5)]
            want = averages(points, start, end, step)
            got = query(engine, store, "load1", start, end, step, service=service)
            assert got == {"load1": want}
    assert roll_up(engine, store, now) is True  # the last series: the watermarks move
    assert watermarks(engine) == {300: T0 + HOUR, 3600: T0 + HOUR}
    assert roll_up(engine, store, now + 60) is True  # nothing due: no pass, no query


def test_a_late_point_during_a_pass_is_rolled_up_once(schema_engine: sa.Engine) -> None:
    engine = schema_engine
    store = SeriesStore(rollup_rows=1)
    for service in ("a", "b"):
        add(store, 0, 1.0, service)
    flush(engine, store)
    prune(engine, store, T0 + 300 + LAG)  # watermark 300 at T0 + 300
    for service in ("a", "b"):
        add(store, 400, 2.0, service)
    flush(engine, store)
    assert roll_up(engine, store, T0 + 600 + LAG) is False  # series a done, b not yet
    for service in ("a", "b"):
        add(store, 450, 6.0, service)  # late for a (its pass is done), not yet for b
    flush(engine, store)
    while not roll_up(engine, store, T0 + 600 + LAG):
        pass
    ids = series_ids(engine)
    for service in ("a", "b"):
        assert rollups(engine, ids["web1", service, "load1"], 300) == [
            (T0, 1, 1.0, 1.0, 1.0),
            (T0 + 300, 2, 8.0, 2.0, 6.0),
        ]


def test_a_pass_cut_short_by_a_restart_is_written_again_not_added(schema_engine: sa.Engine) -> None:
    engine = schema_engine
    store = SeriesStore(rollup_rows=1)
    for service in ("a", "b"):
        add(store, 0, 1.0, service)
        add(store, 100, 3.0, service)
    flush(engine, store)
    assert roll_up(engine, store, T0 + HOUR + LAG) is False  # a rolled up, no watermark yet
    again = SeriesStore()  # the site restarts
    with engine.connect() as conn:
        again.load(conn)
    prune(engine, again, T0 + HOUR + LAG)
    ids = series_ids(engine)
    for service in ("a", "b"):
        assert rollups(engine, ids["web1", service, "load1"], 300) == [(T0, 2, 4.0, 1.0, 3.0)]
    prune(engine, again, T0 + DAY)
    assert rollups(engine, ids["web1", "a", "load1"], 3600) == [(T0, 2, 4.0, 1.0, 3.0)]
