from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from lookout.notify.store import PENDING, NotifyStore
from lookout.storage.database import migrate, open_database

sys.path.insert(0, str(Path(__file__).parent.parent / "chatops"))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = open_database(f"sqlite:///{tmp_path / 'n.db'}")
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def store(db: sa.Engine) -> NotifyStore:
    return NotifyStore(db)


def row(
    n: int,
    *,
    channel: str = "chat",
    kind: str = "problem",
    host: str = "h",
    service: str = "",
    at: float = 1_000_000.0,
    recipient: str = "*",
) -> dict[str, Any]:
    svc = service or f"svc-{n}"
    return {
        "key": f"e{n}:r:{channel}:{recipient}:{kind}",
        "event_id": n,
        "kind": kind,
        "rule": "r",
        "channel": channel,
        "recipient": recipient,
        "host": host,
        "service": svc,
        "number": 1,
        "payload": {
            "kind": kind,
            "host": host,
            "service": svc,
            "state": "CRIT" if kind == "problem" else "OK",
            "summary": f"#{n}",
            "at": at,
            "event_id": n,
        },
        "status": PENDING,
        "attempts": 0,
        "created_at": at,
        "due_at": at,
        "sent_at": None,
        "error": "",
        "external_id": "",
    }
