"""A site's own downtime is not its services' fault (issue 17): a site restarted after ten
minutes down shows no new problem. Active checks that came due while it was down run right
after the start; passive services get one interval of grace. In-process sites on one site
directory, a clock that jumps ten minutes between the two runs, a real TCP check."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult
from lookout.engine.inputs import Results
from lookout.sites.site import Site, init_site

DOWN = 600.0
INTERVAL = 60.0


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


def shifted(offset: float) -> Callable[[], float]:
    return lambda: time.time() + offset


async def until(cond: Callable[[], object], limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def first_run(site: Site, port: int) -> None:
    await site.save_host(HostConfig(name="web", address="127.0.0.1"), create=True)
    tcp = {"type": "tcp", "port": port}
    for name, check in (("tcp", tcp), ("push", None)):
        cfg = ServiceConfig(
            host="web", name=name, check=check, check_interval=INTERVAL, retry_interval=INTERVAL
        )
        await site.save_service(cfg, create=True)
    await site.runner.apply(Results(at=site.clock(), results=[CheckResult("web", "push", 0, "ok")]))
    site.scheduler.run_now("web", "tcp")
    await until(lambda: site.engine.status[("web", "tcp")].checked)


async def test_a_site_down_for_ten_minutes_comes_back_without_new_problems(
    tmp_path: Path, listening_port: int
) -> None:
    init_site(tmp_path / "site", listen="127.0.0.1:1", extra={"catch_up_window": 0.5})
    before = Site(tmp_path / "site", clock=shifted(0))
    await before.start()
    await first_run(before, listening_port)
    await before.stop()

    after = Site(tmp_path / "site", clock=shifted(DOWN))
    started = after.clock()
    await after.start()
    try:
        engine = after.engine
        # the first tick after the start (the one that used to mark both stale)
        engine.tick(after.clock())
        tcp, push = engine.status[("web", "tcp")], engine.status[("web", "push")]
        assert (push.state, push.stale) == (0, False), push.summary
        # the active check that came due while the site was down runs at once
        await until(lambda: tcp.last_check >= started)
        assert (tcp.state, tcp.stale) == (0, False), tcp.summary
        # the passive service is judged one interval after the start, not before
        engine.tick(started + INTERVAL - 1)
        assert not push.stale
        engine.tick(started + INTERVAL + 1)
        assert push.stale
        assert push.state == 3
        assert "No result for 11.0 min" in push.summary
    finally:
        await after.stop()


async def test_the_start_time_is_kept_with_the_checkpoint(tmp_path: Path) -> None:
    """A replay after a crash must judge staleness as the live run did: the start time is
    stored with the start-up checkpoint."""
    init_site(tmp_path / "site", listen="127.0.0.1:1")
    site = Site(tmp_path / "site", clock=shifted(DOWN))
    started = site.clock()
    await site.start()
    await site.stop()
    reader = Site(tmp_path / "site")
    loaded = reader.store.load()
    reader.db.dispose()
    assert started <= loaded.started_at <= started + 5
