"""The site store and the runner's journal/checkpoint cycle, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
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
from lookout.storage.database import migrate, open_database, schema_is_current
from lookout.storage.series import SeriesStore
from lookout.storage.store import SiteStore


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _runner(url: str, clock: Clock) -> SiteRunner:
    db = open_database(url)
    migrate(db)
    series = SeriesStore()
    settings = RunnerSettings(checkpoint_interval=3600, tick_interval=3600)
    return SiteRunner(Engine(metrics=series), SiteStore(db, series), EventBus(), settings, clock)


async def _seed(runner: SiteRunner) -> None:
    store, engine, now = runner.store, runner.engine, runner.clock()
    host = HostConfig(name="web01", address="10.0.0.1", labels={"env": "prod"})
    svc = ServiceConfig(
        host="web01", name="Filesystem /var", max_check_attempts=2, params={"levels": [80, 90]}
    )
    await asyncio.to_thread(store.save_host, host, now, create=True)
    await asyncio.to_thread(store.save_service, svc, now, create=True)
    engine.put_host(host, now)
    engine.put_service(svc, now)


def _crit(n: int) -> CheckResult:
    return CheckResult(
        "web01",
        "Filesystem /var",
        2,
        f"full {n}",
        "",
        (Metric("used", 95.0 + n, "%", 80.0, 90.0, 0.0, 100.0),),
    )


def test_migrations_reach_head(database_url: str) -> None:
    db = open_database(database_url)
    migrate(db)
    assert schema_is_current(db)
    assert {"hosts", "services", "status", "journal", "events"} <= set(
        sa.inspect(db).get_table_names()
    )
    db.dispose()


async def test_journal_replays_after_a_crash(database_url: str) -> None:
    clock = Clock()
    runner = _runner(database_url, clock)
    await runner.start()
    await _seed(runner)
    await runner.checkpoint()
    await runner.apply(inp.Results(at=clock.now, results=[_crit(1)]))
    clock.now += 10
    await runner.apply(inp.Results(at=clock.now, results=[_crit(2)]))
    await runner.apply(
        inp.Acknowledge(
            at=clock.now, keys=[("web01", "Filesystem /var")], author="ann", comment="on it"
        )
    )
    before = runner.engine.status[("web01", "Filesystem /var")]
    # "crash": no checkpoint, just drop the runner; the journal holds the three inputs
    runner.store.close()
    runner.store.db.dispose()

    again = _runner(database_url, clock)
    await again.start()
    st = again.engine.status[("web01", "Filesystem /var")]
    assert again.replayed == 3
    assert (st.state, st.hard, st.attempt, st.summary) == (2, True, 2, "full 2")
    assert st.ack is not None
    assert st.ack.author == "ann"
    assert st.last_state_change == before.last_state_change
    events = again.store.query_events(host="web01")
    assert [e.type for e in reversed(events)] == ["state_change", "state_change", "ack_set"]
    with again.store.db.connect() as conn:
        series = again.store.series.query(
            conn, "web01", "Filesystem /var", "used", clock.now - 600, clock.now + 60, 1
        )
    values = [v for _, v in series[0].points if v is not None]
    assert values == [96.0, 97.0]
    await again.stop()


async def test_checkpoint_truncates_the_journal_and_keeps_state(database_url: str) -> None:
    clock = Clock()
    runner = _runner(database_url, clock)
    await runner.start()
    await _seed(runner)
    for n in range(5):
        clock.now += 1
        await runner.apply(inp.Results(at=clock.now, results=[_crit(n)]))
    await runner.checkpoint()
    with runner.store.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.journal)).scalar() == 0
        row = conn.execute(sa.select(t.status).where(t.status.c.service == "Filesystem /var")).one()
    assert (row.state, row.hard, row.summary) == (2, True, "full 4")
    await runner.stop()
    again = _runner(database_url, clock)
    await again.start()
    assert again.replayed == 0
    st = again.engine.status[("web01", "Filesystem /var")]
    assert st.summary == "full 4"
    assert st.metrics[0].value == 99.0
    cfg = again.engine.services[("web01", "Filesystem /var")]
    assert cfg.params == {"levels": [80, 90]}
    assert again.engine.hosts["web01"].labels == {"env": "prod"}
    await again.stop()


async def test_deleting_a_service_removes_its_status(database_url: str) -> None:
    clock = Clock()
    runner = _runner(database_url, clock)
    await runner.start()
    await _seed(runner)
    await runner.apply(inp.Results(at=clock.now, results=[_crit(1)]))
    await runner.checkpoint()
    await asyncio.to_thread(runner.store.delete_service, "web01", "Filesystem /var")
    runner.engine.remove_service("web01", "Filesystem /var")
    await runner.stop()
    again = _runner(database_url, clock)
    await again.start()
    assert ("web01", "Filesystem /var") not in again.engine.status
    with again.store.db.connect() as conn:
        services = conn.execute(sa.select(t.status.c.service)).scalars().all()
    assert services == [""]
    await again.stop()


async def test_a_refused_write_stops_input(tmp_path: Path) -> None:
    clock = Clock()
    runner = _runner(f"sqlite:///{tmp_path}/db.sqlite", clock)
    await runner.start()
    await _seed(runner)
    with runner.store.journal.db.begin() as conn:  # its own file on SQLite
        conn.exec_driver_sql("DROP TABLE journal")
    with pytest.raises(TemporaryFailure, match="could not write") as first:
        await runner.apply(inp.Results(at=clock.now, results=[_crit(1)]))
    assert runner.failed
    assert "journal" in runner.failed  # the reason, kept for the log and admins
    with pytest.raises(TemporaryFailure, match="not accepting input") as later:
        runner.submit(inp.Results(at=clock.now, results=[_crit(2)]))
    for exc in (first, later):  # writers are not shown SQL or row data (issue 16)
        assert "journal" not in str(exc.value)
        assert "INSERT" not in str(exc.value)


async def test_checkpoints_roll_up_metrics_without_a_prune(database_url: str) -> None:
    clock = Clock(1_800_000_000.0)  # a whole hour
    runner = _runner(database_url, clock)
    await runner.start()
    await _seed(runner)
    for n in range(3):
        await runner.apply(inp.Results(at=clock.now + 60 * n, results=[_crit(n)]))
    clock.now += 3600 + 300  # the hour and its 5-minute buckets are complete
    await runner.checkpoint()  # the prune interval (1 h from start) has not passed
    with runner.store.db.connect() as conn:
        marks = dict(conn.execute(sa.select(t.metric_watermark)).all())
        rollups = conn.execute(
            sa.select(t.metric_rollup.c.step, t.metric_rollup.c["count"], t.metric_rollup.c.sum)
        ).all()
    assert marks == {300: 1_800_003_600.0, 3600: 1_800_003_600.0}
    assert sorted(rollups) == [(300, 3, 288.0), (3600, 3, 288.0)]
    await runner.stop()


async def test_many_objects_saved_at_once_load_as_they_were(database_url: str) -> None:
    """``save_many`` writes at the driver level (bulk creation): every field, JSON ones
    included, comes back as it went in, and None stays None."""
    clock = Clock()
    runner = _runner(database_url, clock)
    hosts = [
        HostConfig(name="a", address="10.0.0.1", labels={"env": "prod", "é": "ü"}, groups=("g",)),
        HostConfig(
            name="b",
            parents=("a",),
            check={"type": "ping"},
            event_handler={"command": "/bin/true", "args": ["x"], "timeout": 5.0},
        ),
    ]
    services = [
        ServiceConfig(host="a", name="disk", params={"levels": [80, 90]}, labels={"t": "1"}),
        ServiceConfig(
            host="b",
            name="http",
            check={"type": "tcp", "port": 80},
            max_check_attempts=2,
            stale_after=0.0,
            depends_on=(("a", "disk"),),
        ),
    ]
    await asyncio.to_thread(runner.store.save_many, hosts, services, clock.now)
    loaded = await asyncio.to_thread(runner.store.load)
    assert sorted(loaded.hosts, key=lambda h: h.name) == hosts
    assert sorted(loaded.services, key=lambda s: s.host) == services
    with runner.store.db.connect() as conn:
        sql_nulls = conn.execute(
            sa.select(sa.func.count()).where(t.services.c.event_handler.is_(None))
        ).scalar()
    assert sql_nulls == 0  # None is JSON null, as SQLAlchemy's JSON type writes it
    runner.store.db.dispose()
