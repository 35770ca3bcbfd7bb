"""SeriesStore against real databases: a SQLite file and PostgreSQL (``schema_engine``)."""

from __future__ import annotations

import math
from typing import Any

import pytest
import sqlalchemy as sa

from lookout.domain.metrics import Metric
from lookout.errors import ConfigError, ValidationError
from lookout.storage.series import SeriesRetention, SeriesStore
from lookout.storage.tables import metric_raw, metric_rollup, metric_series

T0 = 1_699_920_000.0  # midnight UTC: a multiple of every step used here
DAY = 86400.0


def flush(engine: sa.Engine, store: SeriesStore) -> None:
    with engine.begin() as conn:
        store.write_pending(conn, store.take_pending())


def rows(engine: sa.Engine, query: sa.Select[Any]) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def series_ids(engine: sa.Engine) -> dict[tuple[str, str, str], int]:
    s = metric_series.c
    return {
        (h, sv, n): i for i, h, sv, n in rows(engine, sa.select(s.id, s.host, s.service, s.name))
    }


def raw_points(engine: sa.Engine, series_id: int) -> list[tuple[float, float]]:
    r = metric_raw.c
    query = sa.select(r.ts, r.value).where(r.series_id == series_id).order_by(r.ts)
    return [(ts, value) for ts, value in rows(engine, query)]


def rollups(engine: sa.Engine, series_id: int, step: int) -> list[tuple[Any, ...]]:
    u = metric_rollup.c
    query = (
        sa.select(u.ts, u["count"], u.sum, u.min, u.max)
        .where(u.series_id == series_id, u.step == step)
        .order_by(u.ts)
    )
    return rows(engine, query)


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
    flush(engine, store)
    updates: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("UPDATE metric_series"):
            updates.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    store.add("web1", "CPU load", [Metric("load1", 2.0, "", 5.0)], T0 + 60)
    flush(engine, store)
    assert updates == []
    store.add("web1", "CPU load", [Metric("load1", 3.0, "%", 7.0, 9.0)], T0 + 120)
    flush(engine, store)
    assert len(updates) == 1
    s = metric_series.c
    assert rows(engine, sa.select(s.unit, s.warn, s.crit)) == [("%", 7.0, 9.0)]


def test_rollup_math(engine: sa.Engine) -> None:
    store = SeriesStore()
    for offset, value in [(0, 4.0), (100, 1.0), (299, 7.0), (300, 2.0), (3600, 10.0)]:
        store.add("web1", "CPU load", [Metric("load1", value)], T0 + offset)
    flush(engine, store)
    sid = series_ids(engine)["web1", "CPU load", "load1"]
    assert rollups(engine, sid, 300) == [
        (T0, 3, 12.0, 1.0, 7.0),
        (T0 + 300, 1, 2.0, 2.0, 2.0),
        (T0 + 3600, 1, 10.0, 10.0, 10.0),
    ]
    assert rollups(engine, sid, 3600) == [(T0, 4, 14.0, 1.0, 7.0), (T0 + 3600, 1, 10.0, 10.0, 10.0)]
    assert len(raw_points(engine, sid)) == 5


def test_upserts_merge_across_flushes(engine: sa.Engine) -> None:
    store = SeriesStore()
    store.add("web1", "CPU load", [Metric("load1", 4.0)], T0 + 10)
    store.add("web1", "CPU load", [Metric("load1", 6.0)], T0 + 20)
    flush(engine, store)
    store.add("web1", "CPU load", [Metric("load1", 0.5)], T0 + 30)
    store.add("web1", "CPU load", [Metric("load1", 9.5)], T0 + 40)
    flush(engine, store)
    sid = series_ids(engine)["web1", "CPU load", "load1"]
    assert rollups(engine, sid, 300) == [(T0, 4, 20.0, 0.5, 9.5)]
    assert rollups(engine, sid, 3600) == [(T0, 4, 20.0, 0.5, 9.5)]
    assert len(series_ids(engine)) == 1


def test_duplicate_timestamp_keeps_the_later_value(engine: sa.Engine) -> None:
    store = SeriesStore()
    store.add("web1", "CPU load", [Metric("load1", 1.0)], T0)
    store.add("web1", "CPU load", [Metric("load1", 2.0)], T0)  # same flush
    flush(engine, store)
    sid = series_ids(engine)["web1", "CPU load", "load1"]
    assert raw_points(engine, sid) == [(T0, 2.0)]
    store.add("web1", "CPU load", [Metric("load1", 3.0)], T0)  # next flush
    flush(engine, store)
    assert raw_points(engine, sid) == [(T0, 3.0)]


def test_write_stays_in_the_callers_transaction(engine: sa.Engine) -> None:
    store = SeriesStore()
    store.add("web1", "CPU load", [Metric("load1", 1.0)], T0)
    with engine.connect() as conn:
        transaction = conn.begin()
        store.write_pending(conn, store.take_pending())
        transaction.rollback()
    assert series_ids(engine) == {}
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
    for offset, value in [(0, 1.0), (30, 3.0), (60, 5.0), (150, 7.0)]:
        store.add("web1", "CPU load", [Metric("load1", value)], T0 + offset)
    flush(engine, store)
    got = query(engine, store, "load1", T0 + 10, T0 + 180, 60)
    assert got == {
        "load1": [(T0, 2.0), (T0 + 60, 5.0), (T0 + 120, 7.0), (T0 + 180, None)],
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
    # rollup-sourced steps see pending points too
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


def _mark_sources(engine: sa.Engine, sid: int) -> None:
    """Give each source a different value at T0: raw 1, 300 s rollup 2, 3600 s rollup 3."""
    with engine.begin() as conn:
        conn.execute(sa.update(metric_raw).values(value=1.0).where(metric_raw.c.series_id == sid))
        for step, average in ((300, 2.0), (3600, 3.0)):
            conn.execute(
                sa.update(metric_rollup)
                .where(metric_rollup.c.series_id == sid, metric_rollup.c.step == step)
                .values({"count": 1, "sum": average})
            )


@pytest.mark.parametrize(
    ("step", "average"), [(1, 1.0), (60, 1.0), (299, 1.0), (300, 2.0), (600, 2.0), (3600, 3.0)]
)
def test_query_picks_the_source_by_step(engine: sa.Engine, step: float, average: float) -> None:
    store = SeriesStore()
    store.add("web1", "CPU load", [Metric("load1", 9.0)], T0)
    flush(engine, store)
    _mark_sources(engine, series_ids(engine)["web1", "CPU load", "load1"])
    assert query(engine, store, "load1", T0, T0, step)["load1"][0][1] == average


def test_query_falls_back_to_finer_data(engine: sa.Engine) -> None:
    store = SeriesStore()
    store.add("web1", "CPU load", [Metric("load1", 9.0)], T0)
    flush(engine, store)
    sid = series_ids(engine)["web1", "CPU load", "load1"]
    _mark_sources(engine, sid)
    with engine.begin() as conn:
        conn.execute(sa.delete(metric_rollup).where(metric_rollup.c.step == 3600))
    assert query(engine, store, "load1", T0, T0, 3600)["load1"] == [(T0, 2.0)]
    with engine.begin() as conn:
        conn.execute(sa.delete(metric_rollup))
    assert query(engine, store, "load1", T0, T0, 7200)["load1"] == [(T0, 1.0)]


def test_query_over_a_long_range_uses_rollups(engine: sa.Engine) -> None:
    store = SeriesStore()
    for hour in range(48):
        for minute in (0, 30):
            store.add(
                "web1", "CPU load", [Metric("load1", float(hour))], T0 + hour * 3600 + minute * 60
            )
    flush(engine, store)
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
    points = query(engine, store, "load1", T0 + 59, T0 + 60 * 9_999, 60)["load1"]
    assert len(points) == 10_000
    assert points[0] == (T0, 1.0)
    assert points[-1] == (T0 + 60 * 9_999, None)


def test_prune_applies_retention_and_drops_empty_series(engine: sa.Engine) -> None:
    retention = SeriesRetention(raw_seconds=600, rollups=((300, 3600), (3600, 4 * 3600)))
    store = SeriesStore(retention)
    store.add("web1", "CPU load", [Metric("old", 1.0)], T0)
    for offset in (0, 600, 3600, 7200, 4 * 3600):
        store.add("web1", "CPU load", [Metric("load1", 1.0)], T0 + offset)
    flush(engine, store)
    sid = series_ids(engine)["web1", "CPU load", "load1"]
    with engine.begin() as conn:  # rollups of a step no longer configured
        conn.execute(
            metric_rollup.insert(),
            [{"series_id": sid, "step": 60, "ts": T0, "count": 1, "sum": 1, "min": 1, "max": 1}],
        )
    now = T0 + 4 * 3600 + 1
    with engine.begin() as conn:
        deleted = store.prune(conn, now)
    assert raw_points(engine, sid) == [(T0 + 4 * 3600, 1.0)]
    assert [row[0] for row in rollups(engine, sid, 300)] == [T0 + 4 * 3600]
    assert [row[0] for row in rollups(engine, sid, 3600)] == [T0 + 3600 * k for k in (1, 2, 4)]
    assert rollups(engine, sid, 60) == []
    # raw: 4 + 1 ("old"); 300 s: 4 + 1; 3600 s: 1 + 1; the step no longer configured: 1
    assert deleted == 13
    assert list(series_ids(engine)) == [("web1", "CPU load", "load1")]
    assert store.series_count == 1
    store.add("web1", "CPU load", [Metric("old", 2.0)], now)  # comes back as a new series
    flush(engine, store)
    assert ("web1", "CPU load", "old") in series_ids(engine)


def test_forget_service_and_host(engine: sa.Engine) -> None:
    store = SeriesStore()
    store.add("web1", "CPU load", [Metric("load1", 1.0)], T0)
    store.add("web1", "Disk /", [Metric("/", 1.0)], T0)
    store.add("web2", "CPU load", [Metric("load1", 1.0)], T0)
    flush(engine, store)
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
    for host in range(400):  # more than one IN-list chunk of keys
        store.add(f"host{host}", "CPU load", [Metric("load1", float(host))], T0)
    flush(engine, store)
    assert len(series_ids(engine)) == 400
    assert query(engine, store, "load1", T0, T0, 60, host="host399") == {"load1": [(T0, 399.0)]}
    with engine.begin() as conn:
        assert store.prune(conn, T0 + 3 * DAY) == 400
