"""Fixtures for worker pools: a real nats-server with JetStream per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from natsserver import NatsServer, require_binary, single


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A fresh nats-server with JetStream on a free port (store in tmp_path)."""
    require_binary()
    server = single(tmp_path / "nats")
    try:
        yield server
    finally:
        server.stop()
