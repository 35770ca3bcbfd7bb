"""Backups of a running site, and restores that bring back exactly its state and history."""

from __future__ import annotations

import io
import sqlite3
import tarfile
from pathlib import Path

import httpx
import pytest
from sitehttp import add_service, history, submit

from lookout.errors import ConfigError
from lookout.manager.manager import Manager
from lookout.manager.root import Root

pytestmark = pytest.mark.integration


def test_restore_brings_back_the_backed_up_state_and_history(root: Root, manager: Manager) -> None:
    new = manager.create("alpha")
    add_service(new.url, new.token, "web01", "disk")
    for state in (2, 2, 2, 0, 1):
        submit(new.url, new.token, "web01", "disk", state, f"state {state}")
    backed_up = history(new.url, new.token)
    made = manager.backup("alpha")  # while it runs
    for state in (2, 2, 2, 2):
        submit(new.url, new.token, "web01", "disk", state, "after the backup")
    assert history(new.url, new.token) != backed_up
    manager.restore("alpha", made.path)
    assert history(new.url, new.token) == backed_up
    [row] = manager.rows()
    assert row["state"] == "running"
    assert row["last_backup"] is not None

    copy = manager.restore("alpha", as_name="beta")  # the newest backup, as a new site
    assert copy.http_port not in (root.record("alpha").http_port, root.record("alpha").agent_port)
    url = f"http://127.0.0.1:{copy.http_port}"
    assert history(url, new.token) == backed_up  # same data, same tokens
    assert [r["state"] for r in manager.rows()] == ["running", "running"]


def test_a_damaged_backup_is_refused_and_the_site_is_left_as_it_was(
    root: Root, manager: Manager
) -> None:
    new = manager.create("alpha")
    made = manager.backup("alpha")
    damaged = made.path.with_name("damaged.tar")
    with tarfile.open(made.path) as src, tarfile.open(damaged, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member) if member.isfile() else None
            if member.name == "site/lookout.toml" and data is not None:
                body = data.read() + b"\n# changed\n"
                member.size = len(body)
                dst.addfile(member, io.BytesIO(body))
            else:
                dst.addfile(member, data)
    with pytest.raises(ConfigError, match="damaged backup") as exc:
        manager.restore("alpha", damaged)
    assert exc.value.problems == ["lookout.toml: checksum differs from the manifest"]
    [row] = manager.rows()
    assert row["state"] == "running"
    assert httpx.get(new.url + "/readyz", timeout=5).status_code == 200


def test_a_host_removed_just_before_the_backup_stays_removed(
    root: Root, manager: Manager, tmp_path: Path
) -> None:
    new = manager.create("alpha")
    add_service(new.url, new.token, "gone01", "disk")
    for state in (2, 0):
        submit(new.url, new.token, "gone01", "disk", state, f"state {state}")
    with httpx.Client(base_url=new.url, headers={"Authorization": f"Bearer {new.token}"}) as c:
        assert c.delete("/api/v1/hosts/gone01").status_code == 204
    backed_up = history(new.url, new.token)
    made = manager.backup("alpha")  # within the checkpoint interval of the removal
    with tarfile.open(made.path) as tar:
        tar.extractall(tmp_path, filter="data")
    site = tmp_path / "site"
    journal = site / "lookout.journal.db"  # the journal's own file, where it has one
    db = sqlite3.connect(site / "lookout.db")
    try:
        (covered,) = db.execute("SELECT journal_seq FROM checkpoint").fetchone()
        jdb = sqlite3.connect(journal) if journal.exists() else db
        after = jdb.execute("SELECT count(*) FROM journal WHERE seq > ?", (covered,)).fetchone()
        assert after == (0,)  # nothing to replay
        assert db.execute("SELECT count(*) FROM hosts WHERE name = 'gone01'").fetchone() == (0,)
    finally:
        db.close()
    manager.restore("alpha", made.path)
    assert history(new.url, new.token) == backed_up
