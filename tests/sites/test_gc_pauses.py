"""A running site collects cyclic garbage in small generations (issue 19): each collection holds
the event loop for as long as it scans, and a young generation of 50,000 objects held it for
85-155 ms under churn."""

from __future__ import annotations

import gc
from pathlib import Path

from lookout.sites.site import Site, init_site


async def test_a_running_site_keeps_the_young_generation_small(tmp_path: Path) -> None:
    init_site(tmp_path / "site", listen="127.0.0.1:1")
    site = Site(tmp_path / "site")
    before = gc.get_threshold()
    try:
        await site.start()
        young, middle, _ = gc.get_threshold()
        assert young <= 10_000
        assert young * middle <= 100_000  # what a middle-generation collection scans at most
        await site.stop()
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
