from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from lookout.notify.store import NotifyStore
from lookout.storage.database import migrate, open_database

sys.path.insert(0, str(Path(__file__).parent.parent / "chatops"))
from harness import Harness
from notifysite import running_site


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


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    """A running site with a fake clock (``notifysite.running_site``)."""
    async for harness in running_site(tmp_path):
        yield harness
