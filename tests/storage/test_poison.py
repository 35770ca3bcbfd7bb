"""Below the doors: values the engine accepted can always be checkpointed, and a journal entry
that cannot be replayed is set aside, on SQLite and PostgreSQL (issue 16).

The doors refuse these values now, so the inputs are handed to the runner directly: that is
what a data source with a bug, or a journal written by an older version, would do.
"""

from __future__ import annotations

import math

import sqlalchemy as sa
from test_store import Clock, _crit, _runner, _seed

from lookout.domain.events import EventType
from lookout.domain.metrics import Metric
from lookout.domain.results import CheckResult
from lookout.engine import inputs as inp
from lookout.storage import tables as t

KEY = ("web01", "Filesystem /var")


def _poison(bad_metrics: bool = True) -> CheckResult:
    metrics = (Metric("used", math.nan, "%"), Metric("ok", 1.0, "%", math.inf))
    return CheckResult(
        "web01",
        "Filesystem /var",
        1,
        "bad\x00summary",
        "long\x00output",
        metrics if bad_metrics else (Metric("ok", 1.0, "%"),),
        math.nan,
    )


async def test_a_poisoned_result_is_checkpointed_repaired_and_nothing_is_lost(
    database_url: str,
) -> None:
    clock = Clock()
    runner = _runner(database_url, clock)
    await runner.start()
    await _seed(runner)
    await runner.apply(inp.Results(at=clock.now, results=[_crit(1)]))  # acknowledged first
    clock.now += 1
    await runner.apply(inp.Results(at=clock.now, results=[_poison()]))
    clock.now += 1
    await runner.apply(inp.Results(at=clock.now, results=[_crit(2)]))
    await runner.checkpoint()  # failed for good before: NOT NULL / NUL / null metric value
    assert runner.failed is None
    assert runner.quarantined == 1
    clock.now += 1
    await runner.apply(inp.Results(at=clock.now, results=[_crit(3)]))  # still takes input
    await runner.checkpoint()
    await runner.stop()

    again = _runner(database_url, clock)
    await again.start()
    st = again.engine.status[KEY]
    assert (st.state, st.summary) == (2, "full 3")
    events = again.store.query_events(types=["quarantine"])
    assert len(events) == 1
    assert "checkpoint repaired" in events[0].summary
    assert events[0].data["source"] == "checkpoint"
    await again.stop()


async def test_a_poisoned_status_survives_a_crash_and_restart(database_url: str) -> None:
    """kill -9 after the poison: the journal holds it; start-up replays and checkpoints."""
    clock = Clock()
    runner = _runner(database_url, clock)
    await runner.start()
    await _seed(runner)
    await runner.apply(inp.Results(at=clock.now, results=[_crit(1)]))
    await runner.apply(inp.Results(at=clock.now, results=[_poison(bad_metrics=False)]))
    runner.store.close()  # the crash: no checkpoint
    runner.store.db.dispose()

    again = _runner(database_url, clock)
    await again.start()  # exit 3 before, every time
    assert again.replayed == 2
    st = again.engine.status[KEY]
    assert st.state == 1
    assert again.quarantined == 1  # the start-up checkpoint was repaired
    summaries = [e.summary for e in again.store.query_events(host="web01", types=["state_change"])]
    assert "bad\ufffdsummary" in summaries
    await again.stop()
    third = _runner(database_url, clock)
    await third.start()
    assert third.replayed == 0
    assert third.engine.status[KEY].state == 1
    await third.stop()


async def test_an_unusable_journal_entry_is_quarantined_and_the_rest_replayed(
    database_url: str,
) -> None:
    clock = Clock()
    runner = _runner(database_url, clock)
    await runner.start()
    await _seed(runner)
    await runner.checkpoint()
    await runner.apply(inp.Results(at=clock.now, results=[_crit(1)]))
    bad_downtime = inp.ScheduleDowntime(
        at=clock.now,
        targets=[KEY],
        start=clock.now,
        end=1e999,
        author="mallory",
        comment="forever",
    )
    seq = runner.store.last_seq
    with runner.store.db.begin() as conn:  # as an older version journaled them
        conn.execute(
            t.journal.insert(),
            [
                {"seq": seq + 1, "at": clock.now, "body": inp.encode(bad_downtime)},
                {"seq": seq + 2, "at": clock.now, "body": b"\xc1not msgpack"},
            ],
        )
    runner.store.close()
    runner.store.db.dispose()

    again = _runner(database_url, clock)
    await again.start()
    assert again.quarantined == 2
    assert again.engine.downtimes == {}
    assert again.engine.status[KEY].summary == "full 1"
    quarantined = again.store.query_events(types=["quarantine"])
    reasons = sorted(e.summary for e in quarantined)
    assert "end" in reasons[0]
    assert "9999" in reasons[0]
    assert "unreadable" in reasons[1]
    assert {e.type for e in quarantined} == {EventType.QUARANTINE}
    with again.store.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.journal)).scalar() == 0
    await again.stop()


async def test_a_journaled_metric_out_of_bounds_is_quarantined_at_replay(
    database_url: str,
) -> None:
    """Metric numbers are bounded when decoded (domain.metrics.Number): an entry an older
    version journaled with NaN or infinite metrics is set aside, the rest replayed."""
    clock = Clock()
    runner = _runner(database_url, clock)
    await runner.start()
    await _seed(runner)
    await runner.apply(inp.Results(at=clock.now, results=[_crit(1)]))
    await runner.apply(inp.Results(at=clock.now, results=[_poison()]))
    await runner.apply(inp.Results(at=clock.now, results=[_crit(2)]))
    runner.store.close()  # the crash: no checkpoint
    runner.store.db.dispose()

    again = _runner(database_url, clock)
    await again.start()
    assert (again.replayed, again.quarantined) == (3, 1)
    assert again.engine.status[KEY].summary == "full 2"
    (event,) = again.store.query_events(types=["quarantine"])
    assert "out of range" in event.summary
    await again.stop()
