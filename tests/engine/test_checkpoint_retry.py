"""A failed checkpoint does not stop the site (issue 19): input goes on being journaled and
answered, and a later checkpoint writes what the failed one held — every event and metric
point once, none lost, none twice. Real databases, real failures: on SQLite another connection
holds the write lock past the busy timeout; on both, the events table is away for a while."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from lookout.domain.metrics import Metric
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult
from lookout.engine import inputs as inp
from lookout.engine.bus import EventBus
from lookout.engine.core import Engine
from lookout.engine.runner import RunnerSettings, SiteRunner
from lookout.errors import TemporaryFailure
from lookout.storage import tables as t
from lookout.storage.database import migrate, open_database
from lookout.storage.series import SeriesStore
from lookout.storage.store import SiteStore

SERVICES = 20
T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def _runner(url: str, clock: Clock) -> SiteRunner:
    db = open_database(url, busy_timeout=0.2)
    migrate(db)
    series = SeriesStore()
    settings = RunnerSettings(checkpoint_interval=3600, tick_interval=3600)
    return SiteRunner(Engine(metrics=series), SiteStore(db, series), EventBus(), settings, clock)


async def _seed(runner: SiteRunner) -> None:
    now = runner.clock()
    host = HostConfig(name="h")
    services = [
        ServiceConfig(host="h", name=f"s{k}", max_check_attempts=1) for k in range(SERVICES)
    ]
    await asyncio.to_thread(runner.store.save_many, [host], services, now)
    runner.engine.put_host(host, now)
    for svc in services:
        runner.engine.put_service(svc, now)


async def _round(runner: SiteRunner, clock: Clock, n: int) -> None:
    """Every service changes state (events) and carries a metric point at its own time."""
    clock.now = T0 + 60 * n
    results = [
        CheckResult("h", f"s{k}", n % 3, f"round {n}", "", (Metric("v", float(n)),))
        for k in range(SERVICES)
    ]
    await runner.apply(inp.Results(at=clock.now, results=results))


def _stored(runner: SiteRunner) -> tuple[int, int, int, set[str]]:
    """Events (rows, distinct ids), metric points in chunks, the summaries in status rows."""
    with runner.store.db.connect() as conn:
        rows, ids = conn.execute(
            sa.select(sa.func.count(), sa.func.count(sa.distinct(t.events.c.id)))
        ).one()
        points = conn.execute(sa.select(sa.func.sum(t.metric_chunk.c["count"]))).scalar()
        summaries = conn.execute(
            sa.select(t.status.c.summary).where(t.status.c.service != "")
        ).scalars()
        return rows, ids, int(points or 0), set(summaries)


async def _until(cond: Callable[[], bool]) -> None:
    end = time.monotonic() + 20
    while not cond():
        assert time.monotonic() < end, "timed out"
        await asyncio.sleep(0.05)


async def _fails_then_heals(
    runner: SiteRunner, clock: Clock, break_it: Callable[[], None], heal: Callable[[], None]
) -> None:
    await runner.start()
    await _seed(runner)
    await _round(runner, clock, 1)
    await runner.checkpoint()
    break_it()
    await _round(runner, clock, 2)
    with pytest.raises(TemporaryFailure):
        await runner.checkpoint_soon()  # fails: the data goes back for the next one
    assert runner.failed is None
    assert runner.checkpoint_failures == 1
    assert runner.checkpoint_trouble is not None
    for n in (3, 4):  # still answered: the journal is not the part that fails
        await _round(runner, clock, n)
    assert runner.overloaded() is None
    heal()
    await _until(lambda: runner.checkpoint_trouble is None)  # the writer tried again
    rows, ids, points, summaries = await asyncio.to_thread(_stored, runner)
    assert rows == ids == runner.engine.counters.events  # every event once
    assert points == 4 * SERVICES  # every point once
    assert summaries == {"round 4"}
    await runner.stop()
    again = _runner(str(runner.store.db.url), clock)  # a restart replays to the same
    await again.start()
    assert await asyncio.to_thread(_stored, again) == (rows, ids, points, summaries)
    assert again.engine.status[("h", "s0")].summary == "round 4"
    await again.stop()


async def test_a_checkpoint_that_meets_a_held_lock_is_written_later(tmp_path: Path) -> None:
    path = tmp_path / "lookout.db"
    clock = Clock()
    runner = _runner(f"sqlite:///{path}", clock)
    locker = sqlite3.connect(path, isolation_level=None)

    def hold() -> None:
        locker.execute("BEGIN IMMEDIATE")  # the write lock, past the 0.2 s busy timeout

    await _fails_then_heals(runner, clock, hold, lambda: locker.execute("ROLLBACK"))
    assert runner.checkpoint_failures >= 1
    locker.close()


async def test_a_checkpoint_that_finds_a_table_away_is_written_later(database_url: str) -> None:
    clock = Clock()
    runner = _runner(database_url, clock)
    other = sa.create_engine(database_url)

    def rename(old: str, new: str) -> Callable[[], None]:
        def go() -> None:
            with other.begin() as conn:
                conn.exec_driver_sql(f"ALTER TABLE {old} RENAME TO {new}")

        return go

    try:
        await _fails_then_heals(
            runner, clock, rename("events", "events_away"), rename("events_away", "events")
        )
    finally:
        other.dispose()
