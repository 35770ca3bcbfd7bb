"""Live sites shared by the Livestatus tests (see ``lssite``): one only read, one acted on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lssite import Site, populate

from livesite import make_site


def _running(base: Path) -> Iterator[Site]:
    live = make_site(
        base / "site",
        tick_interval=0.2,
        livestatus={"request_timeout": 1.0, "idle_timeout": 2.0, "max_request_bytes": 65536},
    )
    live.start()
    try:
        with live.client() as http:
            populate(http)
            s = Site(live, http)
            deadline = time.monotonic() + 10
            while not s.socket.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            yield s
    finally:
        live.stop()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A site only read from: its objects and states stay as ``populate`` made them."""
    yield from _running(tmp_path_factory.mktemp("ls"))


@pytest.fixture(scope="session")
def acting_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A site for tests that change things (commands); each uses objects of its own."""
    yield from _running(tmp_path_factory.mktemp("lsact"))
