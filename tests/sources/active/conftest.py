"""Fixtures for the active-check runner tests."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from lookout.checks.active import CheckContext


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port that is bound but not listening: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
async def offline_context() -> AsyncIterator[CheckContext]:
    """A check context whose HTTP clients answer 200 without touching the network."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    async with httpx.AsyncClient(transport=transport) as http:
        yield CheckContext(http=http, http_insecure=http)
