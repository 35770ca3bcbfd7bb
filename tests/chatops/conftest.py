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


def zulip_channel(server: ZulipServer, **extra: object) -> dict[str, object]:
    bot = server.users["bot@zulip.test"]
    return {
        "name": "chat",
        "spec": {
            "type": "zulip",
            "site": server.url,
            "email": bot.email,
            "api_key": bot.api_key,
            "stream": "monitoring",
            "group_window": 0,
            **extra,
        },
    }
