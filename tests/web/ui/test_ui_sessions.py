"""Web sessions in the site database: created, found again after a restart, ended, expired."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from lookout import auth
from lookout.auth import Role
from lookout.storage import accounts
from lookout.storage.database import migrate, open_database
from lookout.web.ui import passwords
from lookout.web.ui.sessions import SessionStore


def _db(tmp_path: Path) -> sa.Engine:
    db = open_database(f"sqlite:///{tmp_path / 'site.db'}")
    migrate(db)
    accounts.add_user(db, "ann", "operator", 0.0)
    return db


def test_sessions_survive_a_restart_and_end(tmp_path: Path) -> None:
    db = _db(tmp_path)
    cookie, sess = SessionStore(db, 3600).create("ann", Role.OPERATOR, 1000.0)
    with db.connect() as conn:
        (stored,) = conn.execute(sa.text("select id_hash from ui_sessions")).scalars()
    assert cookie not in stored  # only the hash is stored
    again = SessionStore(db, 3600)  # a new process
    found = again.lookup(cookie, 1001.0)
    assert found is not None
    assert (found.user, found.role, found.csrf) == ("ann", Role.OPERATOR, sess.csrf)
    assert again.lookup("not-a-cookie", 1001.0) is None
    again.end(found)
    assert SessionStore(db, 3600).lookup(cookie, 1002.0) is None


def test_sessions_expire(tmp_path: Path) -> None:
    store = SessionStore(_db(tmp_path), 60)
    cookie, _ = store.create("ann", Role.OPERATOR, 1000.0)
    assert store.lookup(cookie, 1059.0) is not None
    assert store.lookup(cookie, 1060.0) is None


def test_csrf_check() -> None:
    from lookout.web.ui.sessions import Session

    s = Session("h", "ann", Role.VIEWER, "token", 10.0)
    assert s.csrf_ok("token")
    assert not s.csrf_ok("")
    assert not s.csrf_ok(None)
    assert not s.csrf_ok("other")


def test_set_password_hashes_with_argon2_and_ends_sessions(tmp_path: Path) -> None:
    db = _db(tmp_path)
    cookie, _ = SessionStore(db, 3600).create("ann", Role.OPERATOR, 1000.0)
    passwords.set_password(db, "ann", "a long secret")
    row = accounts.get_user(db, "ann")
    assert row.password_hash.startswith("$argon2id$")
    assert auth.verify_password("a long secret", row.password_hash)
    assert not auth.verify_password("wrong", row.password_hash)
    assert SessionStore(db, 3600).lookup(cookie, 1001.0) is None
    assert len(passwords.new_password()) == 23


def test_old_scrypt_hashes_still_verify() -> None:
    import hashlib

    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(b"pw", salt=salt, n=2**14, r=8, p=1).hex()
    assert auth.verify_password("pw", f"scrypt${salt.hex()}${digest}")
    assert not auth.verify_password("nope", f"scrypt${salt.hex()}${digest}")


def test_cached_sessions_follow_the_database(tmp_path: Path) -> None:
    """A running site notices a role change, a deleted user and sessions ended elsewhere
    (``lookout user passwd`` on the same database) within REVALIDATE seconds."""
    from lookout.web.ui.sessions import REVALIDATE

    db = _db(tmp_path)
    store = SessionStore(db, 86400)
    cookie, _ = store.create("ann", Role.OPERATOR, 1000.0)
    with db.begin() as conn:
        conn.execute(sa.text("update users set role = 'viewer' where name = 'ann'"))
    assert store.lookup(cookie, 1001.0).role == Role.OPERATOR  # type: ignore[union-attr]
    later = 1000.0 + REVALIDATE
    assert store.lookup(cookie, later).role == Role.VIEWER  # type: ignore[union-attr]
    passwords.set_password(db, "ann", "a long secret")  # ends her sessions in the database
    assert store.lookup(cookie, later + 1) is not None  # still cached …
    assert store.lookup(cookie, later + REVALIDATE) is None  # … until checked again
    accounts.add_user(db, "bob", "admin", 0.0)
    bob, _ = store.create("bob", Role.ADMIN, 5000.0)
    with db.begin() as conn:  # deleted without cascading (SQLite without foreign keys)
        conn.execute(sa.text("delete from users where name = 'bob'"))
    assert store.lookup(bob, 5000.0 + REVALIDATE) is None
