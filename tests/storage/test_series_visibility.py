"""Points taken for a checkpoint stay visible to queries, once, until their commit."""

from __future__ import annotations

import threading

import sqlalchemy as sa
from test_series import T0, query

from lookout.domain.metrics import Metric
from lookout.storage.series import SeriesData, SeriesStore

ONCE = {"load1": [(T0, 3.0)]}


def store_with_points() -> SeriesStore:
    store = SeriesStore()
    store.add("web1", "CPU load", [Metric("load1", 2.0)], T0 + 10)
    store.add("web1", "CPU load", [Metric("load1", 4.0)], T0 + 20)
    return store


def test_taken_points_are_seen_once_until_and_after_their_commit(
    schema_engine: sa.Engine,
) -> None:
    engine, store = schema_engine, store_with_points()
    taken = store.take_pending(keep_visible=True)
    store.add("web1", "CPU load", [Metric("load1", 6.0)], T0 + 30)  # the next buffer
    want = {"load1": [(T0, 4.0)]}  # 2, 4 and 6: not 6 alone, nor 2 and 4 counted twice
    assert query(engine, store, "load1", T0, T0 + 59, 60) == want
    with engine.connect() as conn:
        transaction = conn.begin()
        store.write_pending(conn, taken)
        assert query(engine, store, "load1", T0, T0 + 59, 60) == want  # not committed yet
        with store.publishing(taken):
            transaction.commit()
    assert query(engine, store, "load1", T0, T0 + 59, 60) == want  # now from the database


def test_released_points_are_no_longer_shown(schema_engine: sa.Engine) -> None:
    store = store_with_points()
    taken = store.take_pending(keep_visible=True)
    assert query(schema_engine, store, "load1", T0, T0 + 59, 60) == ONCE
    store.release(taken)
    assert query(schema_engine, store, "load1", T0, T0 + 59, 60) == {}


def test_a_query_waits_for_a_commit_under_way(schema_engine: sa.Engine) -> None:
    engine, store = schema_engine, store_with_points()
    taken = store.take_pending(keep_visible=True)
    answers: list[list[SeriesData]] = []

    def read() -> None:
        with engine.connect() as conn:
            answers.append(store.query(conn, "web1", "CPU load", "load1", T0, T0 + 59, 60))

    with engine.connect() as conn:
        transaction = conn.begin()
        store.write_pending(conn, taken)
        with store.publishing(taken):
            transaction.commit()  # committed, but the points are still in memory as well
            reader = threading.Thread(target=read)
            reader.start()
            reader.join(0.3)
            assert reader.is_alive()  # it waits instead of counting the points twice
    reader.join(10)
    assert [data.points for data in answers[0]] == [ONCE["load1"]]
