"""What the UI keeps in the site database so that a restart forgets neither: the log-in
throttle's failures and the texts shown once (sealed, with an expiry)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from lookout.storage.database import migrate, open_database
from lookout.storage.vault import Vault
from lookout.web.ui.shown_once import NEW_TOKEN, REGISTRATION, SHOWN_ONCE_SECONDS, ShownOnce
from lookout.web.ui.throttle import LoginThrottle

KEYS = ("user:ann", "addr:10.0.0.9")


def _db(tmp_path: Path) -> sa.Engine:
    db = open_database(f"sqlite:///{tmp_path / 'site.db'}")
    migrate(db)
    return db


def test_failed_log_ins_are_still_counted_after_a_restart(tmp_path: Path) -> None:
    db = _db(tmp_path)
    throttle = LoginThrottle(limit=3, address_limit=5, window=60, db=db, now=100.0)
    for i in range(3):
        throttle.failed(KEYS, 100.0 + i)
    again = LoginThrottle(limit=3, address_limit=5, window=60, db=db, now=110.0)  # restarted
    assert again.wait(KEYS, 110.0) == 50.0  # the oldest of the three leaves at 160
    assert again.wait(("user:bob", "addr:10.0.0.9"), 110.0) == 0  # 3 of 5 for the address
    again.failed(("user:bob", "addr:10.0.0.9"), 111.0)
    again.failed(("user:cy", "addr:10.0.0.9"), 112.0)
    third = LoginThrottle(limit=3, address_limit=5, window=60, db=db, now=113.0)
    assert third.wait(("user:dan", "addr:10.0.0.9"), 113.0) == 47.0  # the address's limit
    assert LoginThrottle(limit=3, window=60, db=db, now=172.5).wait(KEYS, 172.5) == 0


def test_a_successful_log_in_clears_the_users_failures_for_good(tmp_path: Path) -> None:
    db = _db(tmp_path)
    throttle = LoginThrottle(limit=2, window=60, db=db, now=0.0)
    throttle.failed(KEYS, 1.0)
    throttle.failed(KEYS, 2.0)
    throttle.succeeded(KEYS)
    assert LoginThrottle(limit=2, window=60, db=db, now=3.0).wait(KEYS, 3.0) == 0


def test_expired_failures_are_deleted(tmp_path: Path) -> None:
    db = _db(tmp_path)
    throttle = LoginThrottle(limit=2, window=60, db=db, now=0.0)
    throttle.failed(KEYS, 1.0)
    throttle.failed(("user:bob", "addr:10.0.0.8"), 100.0)
    with db.connect() as conn:
        keys = conn.execute(sa.text("select key from login_failures")).scalars().all()
    assert sorted(keys) == ["addr:10.0.0.8", "user:bob"]


def test_a_text_shown_once_survives_a_restart_sealed_and_shows_once(tmp_path: Path) -> None:
    db, now = _db(tmp_path), [1000.0]
    ShownOnce(db, Vault(tmp_path), lambda: now[0]).put("sess1", NEW_TOKEN, "lk_secret")
    reg = {"command": "lookout-agent register --token lka_x", "expires_at": 4600.0}
    ShownOnce(db, Vault(tmp_path), lambda: now[0]).put("sess1", REGISTRATION, reg)
    with db.connect() as conn:
        stored = conn.execute(sa.text("select sealed from ui_shown_once")).scalars().all()
    assert len(stored) == 2
    assert not any("lk_secret" in text or "lka_x" in text for text in stored)
    again = ShownOnce(db, Vault(tmp_path), lambda: now[0])  # a new process, the same site key
    assert again.take("sess2", NEW_TOKEN) is None  # another session's page
    assert again.take("sess1", NEW_TOKEN) == "lk_secret"
    assert again.take("sess1", NEW_TOKEN) is None  # once
    now[0] += SHOWN_ONCE_SECONDS
    assert again.take("sess2", NEW_TOKEN) is None  # any page view deletes expired texts
    with db.connect() as conn:
        assert conn.execute(sa.text("select count(*) from ui_shown_once")).scalar() == 0
    assert again.take("sess1", REGISTRATION) is None  # expired
