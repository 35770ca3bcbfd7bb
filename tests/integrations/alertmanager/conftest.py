"""A site and a real Alertmanager that sends its webhook to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from amserver import Pair, require_binary, start
from livesite import free_port, make_site


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    """A live site whose ``[alertmanager] url`` is a real Alertmanager routing to the site."""
    require_binary()
    am_port = free_port()  # known before the site starts; the Alertmanager takes it below
    site = make_site(
        tmp_path / "site",
        tick_interval=0.2,
        alertmanager={"url": f"http://127.0.0.1:{am_port}", "sync_interval": 1.0},
    )
    am = start(
        tmp_path / "am", f"{site.url}/api/v1/integrations/alertmanager", site.token, port=am_port
    )
    site.start()
    try:
        yield Pair(site, am)
    finally:
        site.stop()
        am.stop()
