"""What SQLite holds in the process (``lookout_sqlite_memory_bytes``), and the page cache cap of
a site database's connections (issue 19: memory flat under churn)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lookout.storage import memory
from lookout.storage.database import open_database

MiB = 2**20


def _growth(path: Path, cache_kib: int) -> int:
    """What SQLite holds more after reading ``path``'s table through one connection."""
    before = memory.sqlite_bytes()
    db = open_database(f"sqlite:///{path}", cache_kib=cache_kib)
    with db.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -cache_kib
        assert conn.exec_driver_sql("SELECT sum(length(x)) FROM t").scalar() == 20_000_000
        during = memory.sqlite_bytes()
    db.dispose()
    assert before is not None
    assert during is not None
    return during - before


def test_sqlite_bytes_follow_the_page_cache_within_its_cap(tmp_path: Path) -> None:
    path = tmp_path / "big.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x BLOB)")
        conn.executemany("INSERT INTO t VALUES (?)", [(b"x" * 4000,) for _ in range(5000)])
    conn.close()
    assert _growth(path, 1024) < 3 * MiB  # a 20 MB table through a 1 MiB cache
    assert _growth(path, 32 * 1024) > 15 * MiB  # … and through a 32 MiB one


def test_a_site_database_caps_its_page_cache_at_8_mib(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'site.db'}")
    with db.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -8192
    db.dispose()
