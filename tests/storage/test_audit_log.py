"""The audit table on SQLite and PostgreSQL: appends chain, tampering shows, pruning is by age."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from lookout.domain import audit as a
from lookout.storage import audit as store
from lookout.storage import tables as t
from lookout.storage.database import migrate, open_database

pytestmark = pytest.mark.integration


@pytest.fixture
def db(database_url: str) -> Iterator[sa.Engine]:
    engine = open_database(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def _entry(i: int, at: float | None = None) -> a.Entry:
    return a.Entry(
        at=float(i) if at is None else at,
        actor="ann",
        channel="api",
        address="127.0.0.1",
        kind="host",
        object=f"web{i}",
        verb="create",
        after={"name": f"web{i}", "password": "hunter2", "weird": "ünï\u2028"},
    )


def test_appends_chain_and_verify(db: sa.Engine) -> None:
    store.append(db, [_entry(1).payload(), _entry(2).payload()])
    store.append_now(db, _entry(3))
    verdict = store.verify(db)
    assert verdict.as_dict()["ok"]
    assert verdict.rows == 3
    rows = list(store.rows(db))
    assert rows[0]["prev"] == a.GENESIS
    assert [r["prev"] for r in rows[1:]] == [r["hash"] for r in rows[:-1]]
    assert verdict.head == rows[-1]["hash"]
    assert "hunter2" not in str(rows)


def test_a_changed_or_removed_row_breaks_the_chain(db: sa.Engine) -> None:
    store.append(db, [_entry(i).payload() for i in range(1, 6)])
    with db.begin() as conn:
        conn.execute(sa.update(t.audit_log).where(t.audit_log.c.id == 2).values(actor="eve"))
    assert [b.id for b in store.verify(db).breaks] == [2]
    with db.begin() as conn:
        conn.execute(sa.delete(t.audit_log).where(t.audit_log.c.id == 4))
    assert [b.id for b in store.verify(db).breaks] == [2, 5]


def test_pruning_by_age_keeps_the_rest_verifiable(db: sa.Engine) -> None:
    store.append(db, [_entry(i, at=100.0 * i).payload() for i in range(1, 6)])
    assert store.prune(db, before=250.0) == 2
    verdict = store.verify(db)
    assert verdict.as_dict()["ok"]
    assert verdict.rows == 3


def test_query_filters(db: sa.Engine) -> None:
    store.append(db, [_entry(i).payload() for i in range(1, 4)])
    store.append(
        db,
        [
            a.Entry(
                at=10.0,
                actor="bob",
                channel="cli",
                address="",
                kind="service",
                object="web1/disk",
                verb="delete",
            ).payload()
        ],
    )
    assert [r["object"] for r in store.query(db, store.Query(object="web1"))] == [
        "web1/disk",
        "web1",
    ]
    assert [r["actor"] for r in store.query(db, store.Query(channel="cli"))] == ["bob"]
    assert len(store.query(db, store.Query(since=2.0, until=3.5))) == 2
    assert len(store.query(db, store.Query(limit=2))) == 2


def test_the_recorder_commits_concurrent_entries_in_one_chain(db: sa.Engine) -> None:
    log = store.AuditLog(db, clock=lambda: 5.0)

    async def many() -> None:
        with a.acting(a.Door("ui", "10.1.2.3", "carol")):
            await asyncio.gather(*(log.record("comment", f"h{i}", "create") for i in range(200)))
        await log.record("host", "x", "delete", author="someone")

    asyncio.run(many())
    rows = list(store.rows(db))
    assert len(rows) == 201
    assert {(r["actor"], r["channel"], r["address"]) for r in rows[:-1]} == {
        ("carol", "ui", "10.1.2.3")
    }
    assert (rows[-1]["actor"], rows[-1]["channel"]) == ("someone", "system")
    assert store.verify(db).as_dict()["ok"]
