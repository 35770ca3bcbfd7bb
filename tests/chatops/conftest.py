from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from harness import Harness
from zulipserver import ZulipServer


@pytest.fixture
async def zulip() -> AsyncIterator[ZulipServer]:
    server = ZulipServer(heartbeat=0.5)
    server.add_user("alice@example.org", "Alice")
    server.add_user("victor@example.org", "Victor")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = Harness(tmp_path)
    await h.start()
    try:
        yield h
    finally:
        await h.stop()
