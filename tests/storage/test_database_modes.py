"""The SQLite database and its ``-wal`` / ``-shm`` files are readable by the site's user only."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from livesite import LiveSite
from lookout.storage.database import migrate, open_database

SUFFIXES = ("", "-wal", "-shm")


def modes(db: Path) -> dict[str, int]:
    return {s: db.with_name(db.name + s).stat().st_mode & 0o777 for s in SUFFIXES}


def test_a_new_database_and_its_wal_and_shm_are_0600(tmp_path: Path) -> None:
    path = tmp_path / "lookout.db"
    engine = open_database(f"sqlite:///{path}")
    try:
        migrate(engine)
        with engine.connect():  # the -wal and -shm files exist while a connection is open
            assert modes(path) == dict.fromkeys(SUFFIXES, 0o600)
    finally:
        engine.dispose()


def test_looser_modes_of_an_existing_database_are_tightened(tmp_path: Path) -> None:
    path = tmp_path / "lookout.db"
    old = sqlite3.connect(path)  # an older Lookout made it 0644, WAL files included
    try:
        old.execute("PRAGMA journal_mode=WAL")
        old.execute("CREATE TABLE t (x)")
        old.commit()
        for s in SUFFIXES:
            path.with_name(path.name + s).chmod(0o644)
        engine = open_database(f"sqlite:///{path}")
        try:
            assert modes(path) == dict.fromkeys(SUFFIXES, 0o600)
        finally:
            engine.dispose()
    finally:
        old.close()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_databases_have_no_file(url: str, tmp_path: Path) -> None:
    engine = open_database(url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        engine.dispose()


def test_a_served_site_keeps_its_database_files_0600(live_site: LiveSite) -> None:
    with live_site.client() as admin:  # a write, so that the WAL is in use
        r = admin.post("/api/v1/hosts", json={"name": "modes-host"})
        assert r.status_code == 201, r.text
        assert httpx.get(f"{live_site.url}/readyz").status_code == 200
        assert modes(live_site.dir / "lookout.db") == dict.fromkeys(SUFFIXES, 0o600)
