"""One live site shared by the Livestatus tests (see ``lssite``)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from lssite import Site, populate

from livesite import make_site


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    live = make_site(
        tmp_path_factory.mktemp("ls") / "site",
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
