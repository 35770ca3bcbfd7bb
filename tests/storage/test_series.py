"""SeriesStore against real databases: a SQLite file and PostgreSQL (``schema_engine``)."""

from __future__ import annotations

import math
import random
import struct
from collections.abc import Iterable
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from lookout.domain.metrics import Metric
from lookout.errors import ConfigError, ValidationError
from lookout.storage.database import MIGRATIONS
from lookout.storage.series import SeriesRetention, SeriesStore
from lookout.storage.tables import metric_chunk, metric_rollup, metric_series, metric_watermark

T0 = 1_699_920_000.0  # midnight UTC: a multiple of every step used here
DAY = 86400.0
LAG = 120.0  # buckets are rolled up once they ended this long before ``now``


def flush(engine: sa.Engine, store: SeriesStore) -> None:
    with engine.begin() as conn:
        store.write_pending(conn, store.take_pending())


def prune(engine: sa.Engine, store: SeriesStore, now: float) -> int:
    with engine.begin() as conn:
        return store.prune(conn, now)


def rows(engine: sa.Engine, query: sa.Select[Any]) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def series_ids(engine: sa.Engine) -> dict[tuple[str, str, str], int]:
    s = metric_series.c
    return {
        (h, sv, n): i for i, h, sv, n in rows(engine, sa.select(s.id, s.host, s.service, s.name))
    }


def decode(data: bytes) -> list[tuple[float, float]]:
    numbers = struct.unpack(f"<{len(data) // 8}d", data)
    return list(zip(numbers[0::2], numbers[1::2], strict=True))


def chunks(engine: sa.Engine, series_id: int) -> list[tuple[float, float, int, Any]]:
    """(start, end, count, points) per chunk, in write order."""
    c = metric_chunk.c
    query = (
        sa.select(c.start_ts, c.end_ts, c["count"], c.data)
        .where(c.series_id == series_id)
        .order_by(c.id)
    )
    return [(start, end, n, decode(data)) for start, end, n, data in rows(engine, query)]


def raw_points(engine: sa.Engine, series_id: int) -> list[tuple[float, float]]:
    """The stored raw points of a series, a repeated ts keeping the later chunk's value."""
    points: dict[float, float] = {}
    for *_, chunk_points in chunks(engine, series_id):
        points.update(chunk_points)
    return sorted(points.items())


def rollups(engine: sa.Engine, series_id: int, step: int) -> list[tuple[Any, ...]]:
    u = metric_rollup.c
    query = (
        sa.select(u.ts, u["count"], u.sum, u.min, u.max)
        .where(u.series_id == series_id, u.step == step)
        .order_by(u.ts)
    )
    return rows(engine, query)


def watermarks(engine: sa.Engine) -> dict[int, float]:
    w = metric_watermark.c
    return dict(rows(engine, sa.select(w.step, w.rolled_until)))


def query(
    engine: sa.Engine,
    store: SeriesStore,
    name: str | None,
    start: float,
    end: float,
    step: float,
    host: str = "web1",
    service: str = "CPU load",
) -> dict[str, list[tuple[float, float | None]]]:
    with engine.connect() as conn:
        return {s.name: s.points for s in store.query(conn, host, service, name, start, end, step)}


def averages(
    points: Iterable[tuple[float, float]], start: float, end: float, step: float
) -> list[tuple[float, float | None]]:
    """The straightforward answer: every point bucketed by ``step``, averaged."""
    first = math.floor(start / step) * step
    count = math.floor((end - first) / step) + 1
    sums, counts = [0.0] * count, [0] * count
    for ts, value in points:
        index = math.floor((ts - first) / step)
        if 0 <= index < count:
            sums[index] += value
            counts[index] += 1
    return [(first + i * step, sums[i] / counts[i] if counts[i] else None) for i in range(count)]


def approx(points: list[tuple[float, float | None]]) -> list[Any]:
    return [(ts, None if value is None else pytest.approx(value)) for ts, value in points]


@pytest.fixture
def engine(schema_engine: sa.Engine) -> sa.Engine:
    return schema_engine


def test_add_and_take_pending_swap_buffers() -> None:
    store = SeriesStore()
    store.add("web1", "CPU load", [Metric("load1", 1.0), Metric("load5", 2.0)], T0)
    store.add("web1", "CPU load", [], T0)  # nothing to remember
    pending = store.take_pending()
    assert (len(pending), pending.point_count()) == (1, 2)
    assert len(store.take_pending()) == 0


def test_write_creates_series_with_latest_meta(engine: sa.Engine) -> None:
    store = SeriesStore()
    store.add("web1", "CPU load", [Metric("load1", 1.0, "", 5.0, 10.0, 0.0)], T0)
    store.add("web1", "CPU load", [Metric("load1", 2.0, "", 6.0, 12.0, 0.0, 64.0)], T0 + 60)
    store.add("web1", "Disk /", [Metric("/", 5.0, "B")], T0)
    flush(engine, store)
    s = metric_series.c
    got = rows(engine, sa.select(s.host, s.service, s.name, s.unit, s.warn, s.crit, s.min, s.max))
    assert sorted(got) == [
        ("web1", "CPU load", "load1", "", 6.0, 12.0, 0.0, 64.0),
        ("web1", "Disk /", "/", "B", None, None, None, None),
    ]
    assert store.series_count == 2


def test_meta_changes_are_written_and_unchanged_meta_is_not(engine: sa.Engine) -> None:
    store = SeriesStore()
    store.add("web1", "CPU load", [Metric("load1", 1.0, "", 5.0)], T0)
    store.add("web1", "CPU load", [Metric("odd", 1.0, "a-very-long-unit-name", math.inf)], T0)
    flush(engine, store)
    updates: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("UPDATE metric_series"):
            updates.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    for minute in (1, 2):  # stored meta that differs from the metric's only by normalization
        store.add("web1", "CPU load", [Metric("load1", 2.0, "", 5.0)], T0 + 60 * minute)
        store.add(
            "web1", "CPU load", [Metric("odd", 1.0, "a-very-long-unit-name", math.inf)], T0 + 60
        )
        flush(engine, store)
    assert updates == []
    store.add("web1", "CPU load", [Metric("load1", 3.0, "%", 7.0, 9.0)], T0 + 180)
    flush(engine, store)
    assert len(updates) == 1
    s = metric_series.c
    query = sa.select(s.unit, s.warn, s.crit).where(s.name == "load1")
    assert rows(engine, query) == [("%", 7.0, 9.0)]


def test_one_chunk_per_series_and_flush(engine: sa.Engine) -> None:
    store = SeriesStore()
    for offset, value in [(0, 4.0), (100, 1.0), (299, 7.0)]:
        store.add(
            "web1", "CPU load", [Metric("load1", value), Metric("load5", -value)], T0 + offset
        )
    flush(engine, store)
    store.add("web1", "CPU load", [Metric("load1", 2.0)], T0 + 300)
    flush(engine, store)
    ids = series_ids(engine)
    assert chunks(engine, ids["web1", "CPU load", "load1"]) == [
        (T0, T0 + 299, 3, [(T0, 4.0), (T0 + 100, 1.0), (T0 + 299, 7.0)]),
        (T0 + 300, T0 + 300, 1, [(T0 + 300, 2.0)]),
    ]
    assert chunks(engine, ids["web1", "CPU load", "load5"]) == [
        (T0, T0 + 299, 3, [(T0, -4.0), (T0 + 100, -1.0), (T0 + 299, -7.0)])
    ]
    assert rows(engine, sa.select(metric_rollup)) == []  # rolled up by prune only


def test_chunk_points_are_sorted_and_a_repeated_ts_keeps_the_later_value(
    engine: sa.Engine,
) -> None:
    store = SeriesStore()
    for offset, value in [(20, 1.0), (10, 2.0), (20, 3.0), (5, 4.0)]:
        store.add("web1", "CPU load", [Metric("load1", value)], T0 + offset)
    flush(engine, store)
    sid = series_ids(engine)["web1", "CPU load", "load1"]
    assert chunks(engine, sid) == [
        (T0 + 5, T0 + 20, 3, [(T0 + 5, 4.0), (T0 + 10, 2.0), (T0 + 20, 3.0)])
    ]
    store.add("web1", "CPU load", [Metric("load1", 9.0)], T0 + 10)  # next flush, same ts
    flush(engine, store)
    assert raw_points(engine, sid) == [(T0 + 5, 4.0), (T0 + 10, 9.0), (T0 + 20, 3.0)]
    assert query(engine, store, "load1", T0, T0 + 59, 60) == {"load1": [(T0, 16.0 / 3)]}
    prune(engine, store, T0 + DAY)
    assert rollups(engine, sid, 300) == [(T0, 3, 16.0, 3.0, 9.0)]
    assert query(engine, store, "load1", T0, T0, 300) == {"load1": [(T0, 16.0 / 3)]}


def test_write_stays_in_the_callers_transaction(engine: sa.Engine) -> None:
    store = SeriesStore()
    store.add("web1", "CPU load", [Metric("load1", 1.0)], T0)
    with engine.connect() as conn:
        transaction = conn.begin()
        store.write_pending(conn, store.take_pending())
        transaction.rollback()
    assert series_ids(engine) == {}
    assert rows(engine, sa.select(metric_chunk.c.id)) == []
    with engine.connect() as conn:
        store.load(conn)  # after a rollback, as documented
    assert store.series_count == 0


def test_unstorable_points_are_skipped(engine: sa.Engine) -> None:
    store = SeriesStore()
    metrics = [
        Metric("ok", 1.0, "a-very-long-unit-name", warn=math.inf),
        Metric("x" * 256, 1.0),
        Metric("nan", math.nan),
        Metric("inf", math.inf),
    ]
    store.add("web1", "CPU load", metrics, T0)
    flush(engine, store)
    ids = series_ids(engine)
    assert sorted(name for _, _, name in ids) == ["inf", "nan", "ok"]
    assert raw_points(engine, ids["web1", "CPU load", "nan"]) == []
    assert raw_points(engine, ids["web1", "CPU load", "ok"]) == [(T0, 1.0)]
    s = metric_series.c
    query = sa.select(s.unit, s.warn).where(s.name == "ok")
    assert rows(engine, query) == [("a-very-long-unit", None)]


def test_load_reads_ids_and_does_not_duplicate_series(engine: sa.Engine) -> None:
    first = SeriesStore()
    first.add("web1", "CPU load", [Metric("load1", 1.0, "", 5.0), Metric("load5", 1.0)], T0)
    flush(engine, first)
    second = SeriesStore()
    with engine.connect() as conn:
        second.load(conn)
    assert second.series_count == 2
    second.add("web1", "CPU load", [Metric("load1", 2.0, "", 5.0)], T0 + 60)
    flush(engine, second)
    ids = series_ids(engine)
    assert len(ids) == 2
    assert raw_points(engine, ids["web1", "CPU load", "load1"]) == [(T0, 1.0), (T0 + 60, 2.0)]


def test_store_recovers_series_unknown_to_memory(engine: sa.Engine) -> None:
    first = SeriesStore()
    first.add("web1", "CPU load", [Metric("load1", 1.0)], T0)
    flush(engine, first)
    stale = SeriesStore()  # never loaded: the row exists, the id is not known
    stale.add("web1", "CPU load", [Metric("load1", 2.0, "%")], T0 + 60)
    flush(engine, stale)
    ids = series_ids(engine)
    assert len(ids) == 1
    assert raw_points(engine, ids["web1", "CPU load", "load1"]) == [(T0, 1.0), (T0 + 60, 2.0)]
    assert rows(engine, sa.select(metric_series.c.unit)) == [("%",)]


def test_query_averages_raw_points_per_bucket(engine: sa.Engine) -> None:
    store = SeriesStore()
    for offset, value in [(0, 1.0), (30, 3.0), (60, 5.0), (150, 7.0), (200, 8.0)]:
        store.add("web1", "CPU load", [Metric("load1", value)], T0 + offset)
        if offset == 60:
            flush(engine, store)
    flush(engine, store)
    got = query(engine, store, "load1", T0 + 10, T0 + 180, 60)
    assert got == {
        "load1": [(T0, 2.0), (T0 + 60, 5.0), (T0 + 120, 7.0), (T0 + 180, 8.0)],
    }


def test_query_includes_pending_points_and_meta(engine: sa.Engine) -> None:
    store = SeriesStore()
    store.add("web1", "CPU load", [Metric("load1", 1.0, "", 5.0)], T0)
    flush(engine, store)
    store.add("web1", "CPU load", [Metric("load1", 3.0, "", 6.0), Metric("new", 4.0, "s")], T0 + 5)
    store.add("web2", "CPU load", [Metric("load1", 100.0)], T0 + 5)  # another host
    with engine.connect() as conn:
        result = store.query(conn, "web1", "CPU load", None, T0, T0 + 60, 60)
    assert [(s.name, s.unit, s.warn, s.points) for s in result] == [
        ("load1", "", 6.0, [(T0, 2.0), (T0 + 60, None)]),
        ("new", "s", None, [(T0, 4.0), (T0 + 60, None)]),
    ]
    # rollup-sourced steps see pending points too, before and after the watermark
    assert query(engine, store, "load1", T0, T0, 300) == {"load1": [(T0, 2.0)]}
    prune(engine, store, T0 + DAY)
    assert query(engine, store, "load1", T0, T0, 300) == {"load1": [(T0, 2.0)]}


def test_query_filters_by_name_and_object(engine: sa.Engine) -> None:
    store = SeriesStore()
    store.add("web1", "CPU load", [Metric("load1", 1.0), Metric("load5", 2.0)], T0)
    store.add("web1", "", [Metric("rta", 0.5, "ms")], T0)
    flush(engine, store)
    assert list(query(engine, store, "load5", T0, T0, 60)) == ["load5"]
    assert list(query(engine, store, None, T0, T0, 60)) == ["load1", "load5"]
    assert query(engine, store, None, T0, T0, 60, service="") == {"rta": [(T0, 0.5)]}
    assert query(engine, store, "missing", T0, T0, 60) == {}


def test_downsampling_rolls_up_complete_buckets(engine: sa.Engine) -> None:
    store = SeriesStore()
    for offset, value in [(0, 4.0), (100, 1.0), (299, 7.0), (300, 2.0), (3600, 10.0)]:
        store.add("web1", "CPU load", [Metric("load1", value)], T0 + offset)
    flush(engine, store)
    sid = series_ids(engine)["web1", "CPU load", "load1"]
    # the 300 s buckets up to T0 + 3300 are complete; the first hour is not yet over
    assert prune(engine, store, T0 + 3600 + LAG - 1) == 0
    assert watermarks(engine) == {300: T0 + 3300, 3600: T0}
    assert rollups(engine, sid, 300) == [(T0, 3, 12.0, 1.0, 7.0), (T0 + 300, 1, 2.0, 2.0, 2.0)]
    assert rollups(engine, sid, 3600) == []
    prune(engine, store, T0 + 7200 + LAG)
    assert watermarks(engine) == {300: T0 + 7200, 3600: T0 + 7200}
    assert rollups(engine, sid, 300) == [
        (T0, 3, 12.0, 1.0, 7.0),
        (T0 + 300, 1, 2.0, 2.0, 2.0),
        (T0 + 3600, 1, 10.0, 10.0, 10.0),
    ]
    assert rollups(engine, sid, 3600) == [(T0, 4, 14.0, 1.0, 7.0), (T0 + 3600, 1, 10.0, 10.0, 10.0)]
    assert len(raw_points(engine, sid)) == 5  # raw points stay for raw_seconds


def test_downsampling_is_idempotent(engine: sa.Engine) -> None:
    store = SeriesStore()
    for minute in range(0, 180, 7):
        store.add("web1", "CPU load", [Metric("load1", float(minute))], T0 + minute * 60)
        if minute % 3 == 0:
            flush(engine, store)
    flush(engine, store)
    sid = series_ids(engine)["web1", "CPU load", "load1"]
    now = T0 + 2 * 3600 + LAG
    prune(engine, store, now)
    before = (rollups(engine, sid, 300), rollups(engine, sid, 3600), watermarks(engine))
    assert sum(row[1] for row in before[0]) == len(range(0, 120, 7))
    prune(engine, store, now)
    prune(engine, store, now + 60)  # no further bucket complete
    assert (rollups(engine, sid, 300), rollups(engine, sid, 3600), watermarks(engine)) == before
    prune(engine, store, T0 + DAY)
    assert sum(row[1] for row in rollups(engine, sid, 300)) == len(range(0, 180, 7))
    assert sum(row[1] for row in rollups(engine, sid, 3600)) == len(range(0, 180, 7))


def test_late_points_are_merged_into_rollups(engine: sa.Engine) -> None:
    store = SeriesStore()
    store.add("web1", "CPU load", [Metric("load1", 1.0)], T0 + 10)
    flush(engine, store)
    prune(engine, store, T0 + 3600 + LAG)
    sid = series_ids(engine)["web1", "CPU load", "load1"]
    assert rollups(engine, sid, 300) == [(T0, 1, 1.0, 1.0, 1.0)]
    # a result checked before the watermark arrives late, with a point after it
    store.add("web1", "CPU load", [Metric("load1", 5.0)], T0 + 20)
    store.add("web1", "CPU load", [Metric("load1", 9.0)], T0 + 3600)
    flush(engine, store)
    assert rollups(engine, sid, 300) == [(T0, 2, 6.0, 1.0, 5.0)]
    assert rollups(engine, sid, 3600) == [(T0, 2, 6.0, 1.0, 5.0)]
    points = [(T0 + 10, 1.0), (T0 + 20, 5.0), (T0 + 3600, 9.0)]
    assert raw_points(engine, sid) == points
    for step in (60, 300, 3600):
        want = averages(points, T0, T0 + 3600, step)
        assert query(engine, store, "load1", T0, T0 + 3600, step) == {"load1": want}
    prune(engine, store, T0 + 2 * 3600 + LAG)  # the late points are not rolled up again
    assert rollups(engine, sid, 3600) == [(T0, 2, 6.0, 1.0, 5.0), (T0 + 3600, 1, 9.0, 9.0, 9.0)]


def _write_random_points(
    engine: sa.Engine,
    store: SeriesStore,
    points: dict[str, dict[float, float]],
    start: float,
    seconds: float,
    seed: int,
) -> None:
    """Irregular points of two metrics over ``seconds`` after ``start``, flushed every
    10 minutes, some of them out of order; adds them to ``points`` (name → ts → value)."""
    rnd = random.Random(seed)
    ts = start
    next_flush = start + 600
    while ts < start + seconds:
        ts += rnd.choice((7.0, 30.0, 61.0, 299.0, 450.0))
        late = ts - rnd.choice((0.0, 0.0, 0.0, 45.0))
        metrics = [Metric("load1", rnd.uniform(0, 10))]
        if rnd.random() < 0.5:
            metrics.append(Metric("load5", rnd.uniform(-5, 5)))
        store.add("web1", "CPU load", metrics, late)
        for metric in metrics:
            points.setdefault(metric.name, {})[late] = metric.value
        if ts >= next_flush:
            flush(engine, store)
            next_flush += 600
    flush(engine, store)


def _check_answers(
    engine: sa.Engine,
    store: SeriesStore,
    points: dict[str, dict[float, float]],
    ranges: Iterable[tuple[float, float, float]],
) -> None:
    for start, end, step in ranges:
        got = query(engine, store, None, start, end, step)
        assert set(got) == set(points)
        for name, found in points.items():
            want = averages(found.items(), start, end, step)
            assert got[name] == approx(want), (name, start, end, step)


RANGES = [
    (T0, T0 + 6 * 3600, 60),
    (T0 + 1234, T0 + 5 * 3600 + 17, 120),
    (T0, T0 + 6 * 3600, 300),
    (T0 + 300, T0 + 6 * 3600, 600),
    (T0 + 900, T0 + 4 * 3600 + 1, 900),
    (T0, T0 + 6 * 3600, 3600),
    (T0 - 3600, T0 + 7 * 3600, 7200),
    (T0, T0 + DAY, 6 * 3600),
]


def test_queries_across_the_watermark_match_the_points(engine: sa.Engine) -> None:
    store = SeriesStore()
    points: dict[str, dict[float, float]] = {}
    _write_random_points(engine, store, points, T0, 3 * 3600, seed=1)
    _check_answers(engine, store, points, RANGES)  # chunks only
    prune(engine, store, T0 + 3 * 3600 + 1000)  # watermarks past the points written so far
    sid = series_ids(engine)["web1", "CPU load", "load1"]
    assert rollups(engine, sid, 300)
    _check_answers(engine, store, points, RANGES)  # rollups, then chunks
    # the next points start before the watermarks: late ones are merged into rollups
    _write_random_points(engine, store, points, T0 + 3 * 3600, 3 * 3600, seed=2)
    _check_answers(engine, store, points, RANGES)
    for now in (T0 + 4 * 3600 + 400, T0 + 6 * 3600 + 1000):
        prune(engine, store, now)
        _check_answers(engine, store, points, RANGES)
    restarted = SeriesStore()
    with engine.connect() as conn:
        restarted.load(conn)
    _check_answers(engine, restarted, points, RANGES)


@pytest.mark.parametrize(
    ("step", "average"), [(1, 9.0), (60, 9.0), (299, 9.0), (300, 2.0), (600, 2.0), (3600, 3.0)]
)
def test_query_picks_the_source_by_step(engine: sa.Engine, step: float, average: float) -> None:
    store = SeriesStore()
    store.add("web1", "CPU load", [Metric("load1", 9.0)], T0)
    flush(engine, store)
    prune(engine, store, T0 + DAY)
    with engine.begin() as conn:  # mark each rollup step: 300 s → 2, 3600 s → 3
        for rollup_step, value in ((300, 2.0), (3600, 3.0)):
            conn.execute(
                sa.update(metric_rollup)
                .where(metric_rollup.c.step == rollup_step)
                .values({"count": 1, "sum": value})
            )
    assert query(engine, store, "load1", T0, T0, step)["load1"][0][1] == average


def test_query_falls_back_to_finer_data(engine: sa.Engine) -> None:
    store = SeriesStore()
    store.add("web1", "CPU load", [Metric("load1", 9.0)], T0)
    flush(engine, store)
    prune(engine, store, T0 + DAY)
    with engine.begin() as conn:
        conn.execute(sa.update(metric_rollup).values({"count": 1, "sum": 2.0}))
        conn.execute(sa.delete(metric_rollup).where(metric_rollup.c.step == 3600))
    assert query(engine, store, "load1", T0, T0, 3600)["load1"] == [(T0, 2.0)]
    with engine.begin() as conn:
        conn.execute(sa.delete(metric_rollup))
    assert query(engine, store, "load1", T0, T0, 7200)["load1"] == [(T0, 9.0)]


def test_query_over_a_long_range_uses_rollups(engine: sa.Engine) -> None:
    store = SeriesStore()
    for hour in range(48):
        for minute in (0, 30):
            store.add(
                "web1", "CPU load", [Metric("load1", float(hour))], T0 + hour * 3600 + minute * 60
            )
    flush(engine, store)
    prune(engine, store, T0 + 40 * 3600)
    got = query(engine, store, "load1", T0, T0 + 2 * DAY - 1, 6 * 3600)["load1"]
    assert got == [(T0 + i * 6 * 3600, 6 * i + 2.5) for i in range(8)]


@pytest.mark.parametrize(
    ("start", "end", "step", "loc", "message"),
    [
        (T0, T0 + 60, 0, "step", "step must be greater than 0"),
        (T0, T0 + 60, -5, "step", "step must be greater than 0"),
        (T0, T0 - 1, 60, "end", "is before start"),
        (T0, T0 + 10_000 * 60, 60, "step", "at most 10000"),
        (math.nan, T0, 60, "start", "start must be a finite number"),
        (T0, math.inf, 60, "end", "end must be a finite number"),
    ],
)
def test_query_validation(
    engine: sa.Engine, start: float, end: float, step: float, loc: str, message: str
) -> None:
    store = SeriesStore()
    with engine.connect() as conn, pytest.raises(ValidationError) as info:
        store.query(conn, "web1", "CPU load", None, start, end, step)
    assert info.value.loc == (loc,)
    assert message in str(info.value)


def test_query_bucket_layout(engine: sa.Engine) -> None:
    store = SeriesStore()
    store.add("web1", "CPU load", [Metric("load1", 1.0)], T0)
    store.add("web1", "CPU load", [Metric("load1", 3.0)], T0 + 60 * 9_999 + 59)
    flush(engine, store)
    store.add("web1", "CPU load", [Metric("load1", 5.0)], T0 + 60 * 10_000)  # after the end
    points = query(engine, store, "load1", T0 + 59, T0 + 60 * 9_999, 60)["load1"]
    assert len(points) == 10_000
    assert points[0] == (T0, 1.0)
    assert points[-1] == (T0 + 60 * 9_999, 3.0)


def test_prune_applies_retention_and_drops_empty_series(engine: sa.Engine) -> None:
    retention = SeriesRetention(raw_seconds=600, rollups=((300, 3600), (3600, 4 * 3600)))
    store = SeriesStore(retention)
    store.add("web1", "CPU load", [Metric("old", 1.0)], T0)
    flush(engine, store)
    for offset in (0, 600, 3600, 7200, 4 * 3600):
        store.add("web1", "CPU load", [Metric("load1", 1.0)], T0 + offset)
        flush(engine, store)
    sid = series_ids(engine)["web1", "CPU load", "load1"]
    with engine.begin() as conn:  # rollups of a step no longer configured
        conn.execute(metric_watermark.insert(), [{"step": 60, "rolled_until": T0 + 60}])
        conn.execute(
            metric_rollup.insert(),
            [{"series_id": sid, "step": 60, "ts": T0, "count": 1, "sum": 1, "min": 1, "max": 1}],
        )
    now = T0 + 4 * 3600 + 1
    deleted = prune(engine, store, now)
    # chunks: rolled up to T0 + 4 h - 300 - LAG (300 s) and T0 + 3 h (3600 s); kept for 600 s
    assert watermarks(engine) == {300: T0 + 4 * 3600 - 300, 3600: T0 + 3 * 3600}
    assert raw_points(engine, sid) == [(T0 + 4 * 3600, 1.0)]
    # 300 s rollups written for T0 … T0 + 2 h, then kept for 1 h; 3600 s ones kept for 4 h
    assert rollups(engine, sid, 300) == []
    assert [row[0] for row in rollups(engine, sid, 3600)] == [T0 + 3600, T0 + 7200]
    assert rollups(engine, sid, 60) == []
    # chunks: 4 + 1 ("old"); 300 s: 4 + 1; 3600 s: 1 + 1; the step no longer configured: 1
    assert deleted == 13
    assert list(series_ids(engine)) == [("web1", "CPU load", "load1")]
    assert store.series_count == 1
    store.add("web1", "CPU load", [Metric("old", 2.0)], now)  # comes back as a new series
    flush(engine, store)
    assert ("web1", "CPU load", "old") in series_ids(engine)


def test_chunks_are_kept_until_rolled_up(engine: sa.Engine) -> None:
    retention = SeriesRetention(raw_seconds=60, rollups=((300, DAY), (7200, DAY)))
    store = SeriesStore(retention)
    store.add("web1", "CPU load", [Metric("load1", 1.0)], T0 + 3600)
    flush(engine, store)
    sid = series_ids(engine)["web1", "CPU load", "load1"]
    prune(engine, store, T0 + 7000)  # the 2 h bucket from T0 is not complete yet
    assert raw_points(engine, sid) == [(T0 + 3600, 1.0)]
    assert query(engine, store, "load1", T0, T0, 7200)["load1"] == [(T0, 1.0)]
    prune(engine, store, T0 + 7200 + LAG)
    assert raw_points(engine, sid) == []
    assert rollups(engine, sid, 7200) == [(T0, 1, 1.0, 1.0, 1.0)]
    assert query(engine, store, "load1", T0, T0, 7200)["load1"] == [(T0, 1.0)]


def test_forget_service_and_host(engine: sa.Engine) -> None:
    store = SeriesStore()
    store.add("web1", "CPU load", [Metric("load1", 1.0)], T0)
    store.add("web1", "Disk /", [Metric("/", 1.0)], T0)
    store.add("web2", "CPU load", [Metric("load1", 1.0)], T0)
    flush(engine, store)
    prune(engine, store, T0 + 3600 + LAG)
    ids = series_ids(engine)
    with engine.begin() as conn:
        assert store.forget(conn, "web1", "CPU load") == 1
    assert set(series_ids(engine)) == {("web1", "Disk /", "/"), ("web2", "CPU load", "load1")}
    assert raw_points(engine, ids["web1", "CPU load", "load1"]) == []
    assert rollups(engine, ids["web1", "CPU load", "load1"], 300) == []
    with engine.begin() as conn:
        assert store.forget(conn, "web1") == 1
    assert set(series_ids(engine)) == {("web2", "CPU load", "load1")}
    assert store.series_count == 1
    assert raw_points(engine, ids["web2", "CPU load", "load1"]) == [(T0, 1.0)]
    assert rollups(engine, ids["web2", "CPU load", "load1"], 300) == [(T0, 1, 1.0, 1.0, 1.0)]
    assert query(engine, store, "load1", T0, T0, 60, host="web1") == {}


@pytest.mark.parametrize(
    "retention",
    [
        {"raw_seconds": 0},
        {"rollups": ((3600, DAY), (300, DAY))},
        {"rollups": ((300, DAY), (300, DAY))},
        {"rollups": ((0, DAY),)},
        {"rollups": ((300, 0),)},
    ],
)
def test_retention_is_validated(retention: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        SeriesRetention(**retention)


def test_many_series_in_one_flush(engine: sa.Engine) -> None:
    store = SeriesStore()
    for host in range(700):  # more than two IN-list chunks of keys and ids
        store.add(f"host{host}", "CPU load", [Metric("load1", float(host))], T0)
        store.add(f"host{host}", "CPU load", [Metric("load1", float(host) + 2)], T0 + 30)
    flush(engine, store)
    assert len(series_ids(engine)) == 700
    assert rows(engine, sa.select(sa.func.count()).select_from(metric_chunk)) == [(700,)]
    assert query(engine, store, "load1", T0, T0, 60, host="host699") == {"load1": [(T0, 700.0)]}
    prune(engine, store, T0 + 3600 + LAG)
    assert rows(engine, sa.select(sa.func.count()).select_from(metric_rollup)) == [(1400,)]
    assert query(engine, store, "load1", T0, T0, 3600, host="host699") == {"load1": [(T0, 700.0)]}
    # chunks and 300 s rollups have passed their retention; 3600 s rollups have not
    assert prune(engine, store, T0 + 41 * DAY) == 1400
    assert rows(engine, sa.select(sa.func.count()).select_from(metric_rollup)) == [(700,)]


def _alembic(engine: sa.Engine, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        getattr(command, action)(config, revision)


def test_migration_converts_raw_points_and_back(empty_engine: sa.Engine) -> None:
    engine = empty_engine
    _alembic(engine, "upgrade", "0001")
    old_raw = sa.table("metric_raw", sa.column("series_id"), sa.column("ts"), sa.column("value"))
    rnd = random.Random(3)
    points = {T0 + i * 97.0: rnd.uniform(0, 10) for i in range(100)}  # 2.7 hours
    old_rollups = [
        {"series_id": 1, "step": step, "ts": bucket, "count": len(values), "sum": sum(values)}
        | {"min": min(values), "max": max(values)}
        for step in (300, 3600)
        for bucket, values in _bucketed(points, step).items()
    ]
    with engine.begin() as conn:
        conn.execute(
            metric_series.insert(),
            [{"id": 1, "host": "web1", "service": "CPU load", "name": "load1", "unit": ""}],
        )
        rows_ = [{"series_id": 1, "ts": ts, "value": value} for ts, value in points.items()]
        conn.execute(old_raw.insert(), rows_)
        conn.execute(metric_rollup.insert(), old_rollups)
    _alembic(engine, "upgrade", "head")
    assert "metric_raw" not in sa.inspect(engine).get_table_names()
    last = max(points)
    assert watermarks(engine) == {300: last - last % 300 + 300, 3600: T0 + 3 * 3600}
    assert raw_points(engine, 1) == sorted(points.items())
    store = SeriesStore()
    with engine.connect() as conn:
        store.load(conn)
    found = {"load1": points}
    ranges = [(T0, T0 + 3 * 3600, step) for step in (60, 300, 900, 3600)]
    _check_answers(engine, store, found, ranges)
    # new points: in the hour still open at the upgrade (late for 3600 s) and after it
    for ts in (last + 30, T0 + 3 * 3600 + 10):
        store.add("web1", "CPU load", [Metric("load1", 5.0)], ts)
        points[ts] = 5.0
    flush(engine, store)
    _check_answers(engine, store, found, ranges)
    prune(engine, store, T0 + 3 * 3600 + 400)
    _check_answers(engine, store, found, ranges)
    _alembic(engine, "downgrade", "0001")
    tables = set(sa.inspect(engine).get_table_names())
    assert {"metric_raw", "metric_rollup"} <= tables
    assert not {"metric_chunk", "metric_watermark"} & tables
    query = sa.select(old_raw.c.ts, old_raw.c.value).order_by(old_raw.c.ts)
    assert rows(engine, query) == sorted(points.items())
    for step in (300, 3600):  # rollups are complete again, as 0001 expects
        want = [
            (bucket, len(values), pytest.approx(sum(values)), min(values), max(values))
            for bucket, values in sorted(_bucketed(points, step).items())
        ]
        assert rollups(engine, 1, step) == want


def _bucketed(points: dict[float, float], step: int) -> dict[float, list[float]]:
    buckets: dict[float, list[float]] = {}
    for ts, value in sorted(points.items()):
        buckets.setdefault(ts - ts % step, []).append(value)
    return buckets
