"""An answer does not wait behind newer work (issue 19): the writer commits what waits as soon
as the loop is busy instead of gathering for a fixed number of turns, and doors refuse new
input once an input taken has waited ``overload_after`` for its answer, whatever holds it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult
from lookout.engine import inputs as inp
from lookout.engine.bus import EventBus
from lookout.engine.core import Engine
from lookout.engine.runner import GATHER_TURNS, RunnerSettings, SiteRunner
from lookout.storage.database import migrate, open_database
from lookout.storage.series import SeriesStore
from lookout.storage.store import SiteStore

BUSY = 0.01
"""Seconds each turn of the busy task holds the loop (another request's work)."""


async def _runner(path: Path, **settings: float) -> SiteRunner:
    db = open_database(f"sqlite:///{path / 'lookout.db'}")
    migrate(db)
    series = SeriesStore()
    runner = SiteRunner(
        Engine(metrics=series),
        SiteStore(db, series),
        EventBus(),
        RunnerSettings(checkpoint_interval=3600, tick_interval=3600, **settings),
    )
    host, svc = HostConfig(name="h"), ServiceConfig(host="h", name="s")
    await asyncio.to_thread(runner.store.save_many, [host], [svc], time.time())
    runner.engine.put_host(host, time.time())
    runner.engine.put_service(svc, time.time())
    await runner.start()
    return runner


def _result(n: int) -> inp.Results:
    return inp.Results(at=time.time(), results=[CheckResult("h", "s", n % 3, f"r{n}")])


async def test_the_writer_does_not_gather_behind_a_busy_loop(tmp_path: Path) -> None:
    runner = await _runner(tmp_path)
    turns = 0
    busy = True

    async def other_requests() -> None:
        nonlocal turns
        while busy:
            time.sleep(BUSY)  # noqa: ASYNC251  (work that holds the loop, as a big batch does)
            turns += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(other_requests())
    await asyncio.sleep(0)
    try:
        for n in range(5):
            before = turns
            await runner.apply(_result(n))
            # gathering GATHER_TURNS turns would let the busy task run as many times
            assert turns - before < GATHER_TURNS // 2
    finally:
        busy = False
        await task
        await runner.stop()


async def test_doors_refuse_once_an_input_waits_too_long(tmp_path: Path) -> None:
    runner = await _runner(tmp_path, overload_after=0.05)
    try:
        assert runner.overloaded() is None
        _, answered = runner.submit(_result(1))
        time.sleep(0.06)  # noqa: ASYNC251  (a busy loop: the writer has not taken it yet)
        wait = runner.overloaded()
        assert wait is not None
        assert wait >= 1
        await answered
        assert runner.overloaded() is None  # answered: nothing waits any more
        _, answered = runner.submit(_result(2))
        assert runner.overloaded() is None  # a fresh input has not waited long
        await answered
    finally:
        await runner.stop()
