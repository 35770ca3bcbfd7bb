"""The receiver's tables on SQLite and PostgreSQL: single-use tokens, revocation, values."""

from __future__ import annotations

import pytest

from lookout.sources.agent_receiver import repo
from lookout.sources.agent_receiver.repo import CertRecord
from lookout.storage.database import migrate, open_database


@pytest.fixture
def db(database_url: str):  # type: ignore[no-untyped-def]
    engine = open_database(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def test_token_is_used_once_and_expires(db) -> None:  # type: ignore[no-untyped-def]
    repo.add_token(db, "h1", "web01", "admin", at=100.0, expires=200.0)
    repo.add_token(db, "h2", "web01", "admin", at=100.0, expires=200.0)
    assert repo.use_token(db, "h1", 150.0) == ("web01", "")
    assert repo.use_token(db, "h1", 151.0)[1].startswith("registration token already used")
    assert "expired" in repo.use_token(db, "h2", 250.0)[1]
    assert repo.use_token(db, "nope", 150.0) == (None, "unknown registration token")
    repo.drop_unused_tokens(db, "web01")
    assert repo.use_token(db, "h2", 150.0)[0] is None


def test_certificates_and_revocation(db) -> None:  # type: ignore[no-untyped-def]
    a = CertRecord("01", "f" * 64, "u1", "web01", 1000.0)
    b = CertRecord("02", "e" * 64, "u1", "web01", 2000.0)
    c = CertRecord("03", "d" * 64, "u2", "web02", 2000.0)
    for rec in (a, b, c):
        repo.add_cert(db, rec, 10.0)
    assert repo.revoke(db, 20.0, "by test", host="web01") == 2
    assert repo.revoke(db, 21.0, "again", host="web01") == 0
    loaded = {r.serial: r for r in repo.load_certs(db)}
    assert loaded["01"].revoked_at == 20.0
    assert loaded["01"].revoked_reason == "by test"
    assert loaded["03"].revoked_at is None
    assert repo.revoke(db, 30.0, "self", uuid="u2") == 1


def test_value_store_round_trip(db) -> None:  # type: ignore[no-untyped-def]
    repo.save_values(db, {"web01": b"\x01", "web02": b"\x02"}, 1.0)
    repo.save_values(db, {"web01": b"\x03"}, 2.0)
    assert repo.load_values(db) == {"web01": b"\x03", "web02": b"\x02"}


def test_revoke_keeps_the_new_identity(db) -> None:  # type: ignore[no-untyped-def]
    repo.add_cert(db, CertRecord("0a", "a" * 64, "old", "web01", 1000.0), 1.0)
    repo.add_cert(db, CertRecord("0b", "b" * 64, "new", "web01", 1000.0), 2.0)
    assert repo.revoke(db, 3.0, "replaced", host="web01", keep_uuid="new") == 1
    alive = [r.uuid for r in repo.load_certs(db) if r.revoked_at is None]
    assert alive == ["new"]
