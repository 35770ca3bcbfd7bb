"""The active-check scheduler, driven in virtual time (see conftest.py): no real waiting."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Iterable
from typing import Any

import pytest

from lookout.checks.active.tcp import TcpParams
from lookout.domain.results import CheckResult
from lookout.engine.scheduler import MakeJob, Scheduler, first_due, next_due, spread_offset
from lookout.sources.active.runner import CheckJob

START = 1000.0  # virtual time at the start of every test (conftest.START)


class FakeRunner:
    """Takes ``duration`` virtual seconds per check; answers with the next of ``states``."""

    def __init__(
        self, concurrency: int = 50, duration: float = 0.0, states: Iterable[int] = ()
    ) -> None:
        self.concurrency = concurrency
        self.duration = duration
        self.states = iter(states)
        self.starts: list[tuple[float, str]] = []
        self.jobs: list[CheckJob] = []
        self.active = self.peak = self.cancelled = 0

    async def run(self, job: CheckJob) -> CheckResult:
        now = asyncio.get_running_loop().time()
        self.starts.append((now, job.service))
        self.jobs.append(job)
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(self.duration)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.active -= 1
        return CheckResult(job.host, job.service, next(self.states, 0), checked_at=now)

    async def aclose(self) -> None:
        pass

    def times(self, service: str = "svc") -> list[float]:
        """Start times of ``service``, relative to the test's start."""
        return [at - START for at, name in self.starts if name == service]


class FakeEngine:
    """Collects results; answers ``retry`` while a problem is soft (under 3 attempts)."""

    def __init__(self, interval: float = 60.0, retry: float = 10.0) -> None:
        self.interval, self.retry = interval, retry
        self.results: list[CheckResult] = []
        self.attempts: Counter[str] = Counter()
        self.gone: set[str] = set()

    async def submit(self, result: CheckResult) -> None:
        self.results.append(result)
        self.attempts[result.service] = self.attempts[result.service] + 1 if result.state else 0

    def interval_for(self, host: str, service: str) -> float | None:
        if service in self.gone:
            return None
        return self.retry if 0 < self.attempts[service] < 3 else self.interval


def make(service: str = "svc", host: str = "web1") -> MakeJob:
    """A job factory for ``host``/``service``."""
    return lambda: CheckJob(host, service, TcpParams(port=22), "10.0.0.1")


def new_scheduler(
    vloop: asyncio.AbstractEventLoop, runner: FakeRunner, engine: FakeEngine
) -> Scheduler:
    return Scheduler(runner, engine.submit, engine.interval_for, vloop.time, asyncio.sleep)


@contextlib.asynccontextmanager
async def running(scheduler: Scheduler) -> AsyncIterator[None]:
    """Run the scheduler loop for the duration of the block."""
    task = asyncio.create_task(scheduler.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(moment: float) -> None:
    """Let virtual time pass until ``START + moment``."""
    await asyncio.sleep(START + moment - asyncio.get_running_loop().time())


def play(vloop: asyncio.AbstractEventLoop, scenario: Coroutine[Any, Any, None]) -> None:
    vloop.run_until_complete(scenario)


def offset(service: str = "svc", interval: float = 60.0, host: str = "web1") -> float:
    return spread_offset(host, service, interval)


# --- pure helpers ------------------------------------------------------------------------


def test_spread_offsets_are_stable_and_roughly_uniform() -> None:
    names = [(f"web{i // 20:03d}", f"Port {8000 + i % 20}") for i in range(10_000)]
    offsets = [spread_offset(host, service, 60.0) for host, service in names]
    per_six_seconds = Counter(int(value // 6) for value in offsets)

    assert all(0 <= value < 60 for value in offsets)
    assert offsets == [spread_offset(host, service, 60.0) for host, service in names]
    assert sorted(per_six_seconds) == list(range(10))
    assert all(900 <= count <= 1100 for count in per_six_seconds.values())


@pytest.mark.parametrize(
    ("now", "due"), [(5.0, 10.0), (10.0, 10.0), (19.9, 10.0), (35.0, 30.0), (1000.5, 1000.0)]
)
def test_next_due_keeps_the_phase_and_skips_missed_slots(now: float, due: float) -> None:
    assert next_due(0.0, 10.0, now) == due


# --- the loop ----------------------------------------------------------------------------


def test_first_runs_are_spread_over_the_interval(vloop: asyncio.AbstractEventLoop) -> None:
    runner, engine = FakeRunner(), FakeEngine()
    scheduler = new_scheduler(vloop, runner, engine)
    services = [f"Port {port}" for port in range(600)]

    async def scenario() -> None:
        for service in services:
            scheduler.schedule("web1", service, make(service), 60.0)
        async with running(scheduler):
            await until(59.999)

    play(vloop, scenario())
    per_second = Counter(int(at - START) for at, _ in runner.starts)
    assert len(runner.starts) == 600
    assert max(per_second.values()) <= 25  # 10 a second on average
    assert runner.times("Port 7") == [pytest.approx(offset("Port 7"))]


def test_runs_do_not_drift(vloop: asyncio.AbstractEventLoop) -> None:
    runner, engine = FakeRunner(duration=0.3), FakeEngine(interval=10.0)
    scheduler = new_scheduler(vloop, runner, engine)

    async def scenario() -> None:
        scheduler.schedule("web1", "svc", make(), 10.0)
        async with running(scheduler):
            await until(100.0)

    play(vloop, scenario())
    first = offset(interval=10.0)
    assert runner.times() == pytest.approx([first + 10.0 * k for k in range(10)])
    assert [job.scheduled_at - START for job in runner.jobs] == pytest.approx(runner.times())
    assert scheduler.checks_run == len(engine.results) == 10


def test_retry_interval_while_soft(vloop: asyncio.AbstractEventLoop) -> None:
    runner = FakeRunner(states=[2, 2, 2, 2, 0, 0])
    engine = FakeEngine(interval=60.0, retry=10.0)
    scheduler = new_scheduler(vloop, runner, engine)

    async def scenario() -> None:
        scheduler.schedule("web1", "svc", make(), 60.0)
        async with running(scheduler):
            await until(offset() + 265.0)

    play(vloop, scenario())
    times = runner.times()
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert gaps == pytest.approx([10.0, 10.0, 60.0, 60.0, 60.0, 60.0])


def test_recheck_runs_at_once_and_moves_the_phase(vloop: asyncio.AbstractEventLoop) -> None:
    runner, engine = FakeRunner(), FakeEngine(interval=300.0)
    scheduler = new_scheduler(vloop, runner, engine)
    first = offset(interval=300.0)

    async def scenario() -> None:
        scheduler.schedule("web1", "svc", make(), 300.0)
        async with running(scheduler):
            await until(first + 5.0)
            assert scheduler.run_now("web1", "svc")
            assert not scheduler.run_now("web1", "other")
            await until(first + 310.0)

    play(vloop, scenario())
    assert runner.times() == pytest.approx([first, first + 5.0, first + 305.0])


def test_recheck_during_a_run_runs_again_after_it(vloop: asyncio.AbstractEventLoop) -> None:
    runner, engine = FakeRunner(duration=5.0), FakeEngine(interval=300.0)
    scheduler = new_scheduler(vloop, runner, engine)
    first = offset(interval=300.0)

    async def scenario() -> None:
        scheduler.schedule("web1", "svc", make(), 300.0)
        async with running(scheduler):
            await until(first + 1.0)
            scheduler.run_now("web1", "svc")
            await until(first + 20.0)

    play(vloop, scenario())
    assert runner.times() == pytest.approx([first, first + 5.0])
    assert runner.peak == 1


def test_unschedule_stops_further_runs(vloop: asyncio.AbstractEventLoop) -> None:
    runner, engine = FakeRunner(duration=5.0), FakeEngine(interval=10.0)
    scheduler = new_scheduler(vloop, runner, engine)
    first = offset(interval=10.0)

    async def scenario() -> None:
        scheduler.schedule("web1", "svc", make(), 10.0)
        async with running(scheduler):
            await until(first + 1.0)
            assert scheduler.unschedule("web1", "svc")
            assert not scheduler.unschedule("web1", "svc")
            await until(first + 100.0)

    play(vloop, scenario())
    assert runner.times() == pytest.approx([first])
    assert len(engine.results) == 1  # the run in progress still reports
    assert len(scheduler) == 0


def test_a_service_rescheduled_during_its_run_waits_for_it(
    vloop: asyncio.AbstractEventLoop,
) -> None:
    runner, engine = FakeRunner(duration=50.0), FakeEngine(interval=60.0)
    scheduler = new_scheduler(vloop, runner, engine)
    first = offset()

    async def scenario() -> None:
        scheduler.schedule("web1", "svc", make(), 60.0)
        async with running(scheduler):
            await until(first + 1.0)
            scheduler.unschedule("web1", "svc")
            scheduler.schedule("web1", "svc", make(), 60.0)
            scheduler.run_now("web1", "svc")
            await until(first + 60.0)

    play(vloop, scenario())
    assert runner.times() == pytest.approx([first, first + 50.0])
    assert runner.peak == 1


def test_a_gone_service_is_dropped(vloop: asyncio.AbstractEventLoop) -> None:
    runner, engine = FakeRunner(), FakeEngine(interval=10.0)
    engine.gone.add("svc")
    scheduler = new_scheduler(vloop, runner, engine)

    async def scenario() -> None:
        scheduler.schedule("web1", "svc", make(), 10.0)
        async with running(scheduler):
            await until(100.0)

    play(vloop, scenario())
    assert len(runner.starts) == 1
    assert ("web1", "svc") not in scheduler


def test_a_gone_service_frees_its_slot(vloop: asyncio.AbstractEventLoop) -> None:
    runner, engine = FakeRunner(concurrency=1, duration=1.0), FakeEngine(interval=3600.0)
    engine.gone.add("a")
    scheduler = new_scheduler(vloop, runner, engine)

    async def scenario() -> None:
        for name in ("a", "b"):
            scheduler.schedule("web1", name, make(name), 3600.0)
            scheduler.run_now("web1", name)
        async with running(scheduler):
            await until(5.0)

    play(vloop, scenario())
    assert [(at - START, name) for at, name in runner.starts] == [(0.0, "a"), (1.0, "b")]


def test_a_skipped_job_is_not_run_but_rescheduled(vloop: asyncio.AbstractEventLoop) -> None:
    runner, engine = FakeRunner(), FakeEngine(interval=10.0)
    scheduler = new_scheduler(vloop, runner, engine)
    first = offset(interval=10.0)
    calls: list[int] = []

    def every_other() -> CheckJob | None:
        calls.append(1)
        return make()() if len(calls) % 2 == 0 else None

    async def scenario() -> None:
        scheduler.schedule("web1", "svc", every_other, 10.0)
        async with running(scheduler):
            await until(first + 95.0)

    play(vloop, scenario())
    assert len(calls) == 10
    assert runner.times() == pytest.approx([first + 10.0 + 20.0 * k for k in range(5)])
    assert scheduler.checks_run == 5


def test_survives_failing_callbacks(
    vloop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(FakeRunner):
        async def run(self, job: CheckJob) -> CheckResult:
            result = await super().run(job)
            if job.service == "runner":
                raise RuntimeError("worker lost")
            return result

    runner = Broken()

    async def submit(result: CheckResult) -> None:
        raise RuntimeError("engine refused")

    def interval_for(host: str, service: str) -> float | None:
        if service == "interval":
            raise LookupError(service)
        return 0.0 if service == "zero" else 10.0

    def broken_job() -> CheckJob | None:
        raise KeyError("no such host")

    scheduler = Scheduler(runner, submit, interval_for, vloop.time, asyncio.sleep)
    names = ("interval", "zero", "runner", "ok")

    async def scenario() -> None:
        for name in names:
            scheduler.schedule("web1", name, make(name), 10.0)
        scheduler.schedule("web1", "job", broken_job, 10.0)
        async with running(scheduler):
            await until(100.0)

    with caplog.at_level(logging.ERROR, logger="lookout.engine.scheduler"):
        play(vloop, scenario())
    assert {name: len(runner.times(name)) for name in names} == dict.fromkeys(names, 10)
    assert scheduler.checks_run == 30  # the runner's failures are not counted
    assert len(scheduler) == 5
    messages = {record.getMessage() for record in caplog.records}
    assert "submitting the result of web1/ok failed" in messages
    assert "active check web1/job could not run" in messages
    assert "active check web1/runner could not run" in messages
    assert "interval of web1/interval unknown; keeping 10.0 s" in messages
    assert "interval of web1/zero unknown; keeping 10.0 s" in messages


def test_lag_and_bounded_concurrency(vloop: asyncio.AbstractEventLoop) -> None:
    runner, engine = FakeRunner(concurrency=1, duration=5.0), FakeEngine(interval=3600.0)
    scheduler = new_scheduler(vloop, runner, engine)
    lags: list[float] = []

    async def scenario() -> None:
        for name in ("a", "b", "c"):
            scheduler.schedule("web1", name, make(name), 3600.0)
            scheduler.run_now("web1", name)
        async with running(scheduler):
            for moment in (1.0, 6.0, 16.0):
                await until(moment)
                lags.append(scheduler.lag)

    play(vloop, scenario())
    assert lags == pytest.approx([1.0, 6.0, 0.0])
    assert runner.peak == 1
    assert [at - START for at, _ in runner.starts] == pytest.approx([0.0, 5.0, 10.0])


def test_runs_at_most_the_runners_concurrency(vloop: asyncio.AbstractEventLoop) -> None:
    runner, engine = FakeRunner(concurrency=5, duration=1.0), FakeEngine(interval=3600.0)
    scheduler = new_scheduler(vloop, runner, engine)
    in_flight: list[int] = []

    async def scenario() -> None:
        for i in range(20):
            scheduler.schedule("web1", f"s{i}", make(f"s{i}"), 3600.0)
            scheduler.run_now("web1", f"s{i}")
        async with running(scheduler):
            await until(0.5)
            in_flight.append(scheduler.in_flight)
            await until(4.5)

    play(vloop, scenario())
    assert in_flight == [5]
    assert runner.peak == 5
    assert len(runner.starts) == 20


def test_a_slow_check_is_never_run_twice_and_missed_slots_are_skipped(
    vloop: asyncio.AbstractEventLoop,
) -> None:
    runner, engine = FakeRunner(duration=100.0), FakeEngine(interval=10.0)
    scheduler = new_scheduler(vloop, runner, engine)
    first = offset(interval=10.0)

    async def scenario() -> None:
        scheduler.schedule("web1", "svc", make(), 10.0)
        async with running(scheduler):
            await until(first + 250.0)

    play(vloop, scenario())
    assert runner.times() == pytest.approx([first, first + 100.0, first + 200.0])
    assert runner.peak == 1


def test_a_shorter_interval_moves_the_next_run_closer(vloop: asyncio.AbstractEventLoop) -> None:
    runner, engine = FakeRunner(), FakeEngine(interval=3600.0)
    scheduler = new_scheduler(vloop, runner, engine)

    async def scenario() -> None:
        scheduler.schedule("web1", "svc", make(), 3600.0)
        scheduler.run_now("web1", "svc")
        async with running(scheduler):
            await until(10.0)
            engine.interval = 60.0
            scheduler.schedule("web1", "svc", make(), 60.0)
            await until(131.0)

    play(vloop, scenario())
    assert runner.times() == pytest.approx([0.0, 70.0, 130.0])


def test_stopping_cancels_running_checks_and_keeps_them_due(
    vloop: asyncio.AbstractEventLoop,
) -> None:
    runner, engine = FakeRunner(duration=1000.0), FakeEngine()
    scheduler = new_scheduler(vloop, runner, engine)
    leftovers: list[int] = []

    async def scenario() -> None:
        scheduler.schedule("web1", "svc", make(), 60.0)
        scheduler.run_now("web1", "svc")
        async with running(scheduler):
            await until(1.0)
        leftovers.append(len(asyncio.all_tasks()) - 1)
        await until(2.0)
        async with running(scheduler):  # the cancelled run is due again
            await until(3.0)

    play(vloop, scenario())
    assert runner.cancelled == 2
    assert leftovers == [0]
    assert scheduler.in_flight == 0
    assert runner.times() == pytest.approx([0.0, 2.0])


def test_rejects_a_bad_interval(vloop: asyncio.AbstractEventLoop) -> None:
    scheduler = new_scheduler(vloop, FakeRunner(), FakeEngine())

    with pytest.raises(ValueError, match="interval must be a positive number of seconds"):
        scheduler.schedule("web1", "svc", make(), 0.0)


@pytest.mark.parametrize(
    ("last_run", "due"),
    [
        (None, 1000.0 + offset("svc", 60.0)),  # never ran: spread over one interval
        (980.0, 1040.0),  # ran 20 s before the start: its next run keeps its phase
        (300.0, 1000.0 + offset("svc", 15.0)),  # came due while the site was down: catch up
        (5000.0, 1060.0),  # a last run in the future (the clock moved back): one interval
    ],
)
def test_first_due_after_a_start(last_run: float | None, due: float) -> None:
    assert first_due("web1", "svc", 60.0, 1000.0, last_run, catch_up=15.0) == pytest.approx(due)


def test_catching_up_spreads_over_the_window_only() -> None:
    dues = [first_due("web", f"s{i}", 300.0, 0.0, -1000.0, catch_up=15.0) for i in range(1000)]
    assert 0 <= min(dues) < 1
    assert 14 < max(dues) < 15
