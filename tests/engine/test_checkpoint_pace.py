"""A busy site checkpoints twice as often (issue 19): what waits for a checkpoint is most of
its memory above idle; an idle site keeps ``checkpoint_interval``."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult
from lookout.engine import inputs as inp
from lookout.engine.bus import EventBus
from lookout.engine.core import Engine
from lookout.engine.runner import RunnerSettings, SiteRunner
from lookout.storage.database import migrate, open_database
from lookout.storage.series import SeriesStore
from lookout.storage.store import SiteStore

T0 = 1_800_000_000.0
INTERVAL = 100.0
BUSY = 5
TICK = 0.02


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


async def _runner(path: Path, clock: Clock) -> SiteRunner:
    db = open_database(f"sqlite:///{path / 'lookout.db'}")
    migrate(db)
    series = SeriesStore()
    settings = RunnerSettings(
        checkpoint_interval=INTERVAL, tick_interval=TICK, checkpoint_busy_results=BUSY
    )
    runner = SiteRunner(Engine(metrics=series), SiteStore(db, series), EventBus(), settings, clock)
    host = HostConfig(name="h")
    services = [ServiceConfig(host="h", name=f"s{k}") for k in range(BUSY)]
    await asyncio.to_thread(runner.store.save_many, [host], services, T0)
    runner.engine.put_host(host, T0)
    for svc in services:
        runner.engine.put_service(svc, T0)
    await runner.start()
    return runner


async def _results(runner: SiteRunner, clock: Clock, n: int) -> None:
    results = [CheckResult("h", f"s{k}", 2, "down") for k in range(n)]
    await runner.apply(inp.Results(at=clock.now, results=results))


async def _checkpointed_after(runner: SiteRunner, at: float, seconds: float) -> bool:
    """Whether a snapshot is taken at clock time ``at`` or later within ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if runner._snapshot_at >= at:
            return True
        await asyncio.sleep(TICK)
    return False


async def test_a_busy_site_checkpoints_after_half_the_interval(tmp_path: Path) -> None:
    clock = Clock()
    runner = await _runner(tmp_path, clock)
    try:
        await _results(runner, clock, BUSY)
        clock.now = T0 + INTERVAL / 2 + 1
        assert await _checkpointed_after(runner, clock.now, 10)
    finally:
        await runner.stop()


async def test_a_quiet_site_keeps_the_interval(tmp_path: Path) -> None:
    clock = Clock()
    runner = await _runner(tmp_path, clock)
    try:
        await _results(runner, clock, BUSY - 1)
        clock.now = T0 + INTERVAL / 2 + 1
        assert not await _checkpointed_after(runner, clock.now, 20 * TICK)
        clock.now = T0 + INTERVAL + 1
        assert await _checkpointed_after(runner, clock.now, 10)
    finally:
        await runner.stop()
