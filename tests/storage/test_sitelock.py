"""The site lock against a real PostgreSQL: one holder at a time, and a process that lost it
can neither append to the journal nor write a checkpoint (the fence)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lookout.storage.database import migrate, open_database
from lookout.storage.journal import Fenced
from lookout.storage.series import SeriesStore
from lookout.storage.sitelock import SiteLock
from lookout.storage.store import SiteStore, Snapshot


def _snapshot(at: float) -> Snapshot:
    return Snapshot(
        status_rows=[],
        deleted=[],
        events=[],
        downtimes=None,
        comments=None,
        next_id=1,
        points=None,
        at=at,
        started_at=at,
    )


def test_one_holder_and_a_lost_lock_fences_journal_and_checkpoints(pg_url: str) -> None:
    db = open_database(pg_url)
    migrate(db)
    first, second = SiteLock(pg_url, "fenced"), SiteLock(pg_url, "fenced")
    store = SiteStore(db, SeriesStore())
    try:
        held = first.try_acquire()
        assert held is not None
        assert second.try_acquire() is None
        holder = second.holder()
        assert holder is not None
        assert holder["name"].startswith("lookout fenced ")
        store.adopt_writer(held, first.key)
        store.journal.append([(1, 1.0, b"x")])
        store.checkpoint(_snapshot(1.0), 1)  # the fence lets the holder write

        held.invalidate()  # the session ends, as when the database cut the process off
        taker = None
        for _ in range(50):
            taker = second.try_acquire()
            if taker is not None:
                break
        assert taker is not None
        with pytest.raises(Fenced):
            store.journal.append([(2, 2.0, b"y")])
        with pytest.raises(Fenced):
            store.checkpoint(_snapshot(2.0), 2)
        with pytest.raises(Fenced):
            store.ping()
        with db.connect() as conn:
            seqs = conn.execute(sa.text("SELECT seq FROM journal")).scalars().all()
            covered = conn.execute(sa.text("SELECT journal_seq FROM checkpoint")).scalar()
        assert covered == 1
        assert 2 not in seqs
        taker.close()
    finally:
        store.close()
        first.close()
        second.close()
        db.dispose()
