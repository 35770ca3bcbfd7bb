"""The embedded runner: results for every job, UNKNOWN for crashes and overruns."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from lookout.checks.active import CheckContext, Outcome
from lookout.checks.active.alive import AliveParams
from lookout.checks.active.registry import ActiveCheckConfig
from lookout.checks.active.tcp import TcpParams
from lookout.domain.results import CheckResult
from lookout.sources.active.runner import CheckJob, EmbeddedRunner, Runner


def job(config: ActiveCheckConfig | None = None) -> CheckJob:
    """A job for web1/Port, due at 1000."""
    return CheckJob("web1", "Port", config or TcpParams(port=1), "127.0.0.1", 1000.0)


async def crash(config: ActiveCheckConfig, address: str, ctx: CheckContext) -> Outcome:
    settings: dict[str, int] = {}
    return Outcome(state=settings["state"], summary="a bug")


async def hang(config: ActiveCheckConfig, address: str, ctx: CheckContext) -> Outcome:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


@pytest.mark.integration
async def test_runs_the_real_check(refused_port: int) -> None:
    runner = EmbeddedRunner(clock=lambda: 1234.5)
    try:
        result = await runner.run(job(TcpParams(port=refused_port)))
    finally:
        await runner.aclose()

    summary = f"TCP CRITICAL - Connection refused on 127.0.0.1 port {refused_port}"
    assert result == CheckResult("web1", "Port", 2, summary, checked_at=1234.5)


async def test_a_crash_is_unknown_with_traceback(offline_context: CheckContext) -> None:
    runner = EmbeddedRunner(context=offline_context, execute=crash)

    result = await runner.run(job())

    assert result.state == 3
    assert result.summary == "Check crashed: KeyError: 'state'"
    assert result.long_output.startswith("Traceback (most recent call last):")
    assert "in crash" in result.long_output


async def test_an_overrun_is_unknown(offline_context: CheckContext) -> None:
    runner = EmbeddedRunner(grace=0.0, context=offline_context, execute=hang)

    result = await runner.run(job(TcpParams(port=1, timeout=0.01)))

    assert (result.state, result.summary) == (3, "Check timed out after 0.01 s")


async def test_a_timeout_error_of_the_check_itself_is_a_crash(
    offline_context: CheckContext,
) -> None:
    async def own_timeout(config: ActiveCheckConfig, address: str, ctx: CheckContext) -> Outcome:
        raise TimeoutError("driver gave up")

    runner = EmbeddedRunner(context=offline_context, execute=own_timeout)

    result = await runner.run(job())

    assert result.summary == "Check crashed: TimeoutError: driver gave up"


async def test_an_invalid_state_is_unknown(offline_context: CheckContext) -> None:
    async def seven(config: ActiveCheckConfig, address: str, ctx: CheckContext) -> Outcome:
        return Outcome(state=7, summary="lucky")

    runner = EmbeddedRunner(context=offline_context, execute=seven)

    result = await runner.run(job())

    assert result.state == 3
    assert result.summary.startswith("Check returned an invalid outcome: ")


async def test_runs_at_most_concurrency_checks_at_once(offline_context: CheckContext) -> None:
    release = asyncio.Event()
    running: list[str] = []

    async def gate(config: ActiveCheckConfig, address: str, ctx: CheckContext) -> Outcome:
        running.append(address)
        await release.wait()
        return Outcome(state=0, summary="done")

    runner = EmbeddedRunner(concurrency=2, context=offline_context, execute=gate)
    jobs = [CheckJob("h", f"s{i}", TcpParams(port=1), f"10.0.0.{i}") for i in range(5)]
    results = asyncio.gather(*(runner.run(one) for one in jobs))
    for _ in range(10):
        await asyncio.sleep(0)
    started = len(running)
    release.set()

    assert started == 2
    assert [result.service for result in await results] == ["s0", "s1", "s2", "s3", "s4"]


async def test_cancellation_is_not_swallowed(offline_context: CheckContext) -> None:
    runner = EmbeddedRunner(context=offline_context, execute=hang)
    task = asyncio.create_task(runner.run(job()))
    await asyncio.sleep(0)

    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task


async def test_aclose_closes_only_clients_it_created(offline_context: CheckContext) -> None:
    own = EmbeddedRunner()
    lent = EmbeddedRunner(context=offline_context)

    await own.aclose()
    await lent.aclose()

    assert not offline_context.http.is_closed
    assert own._context.http.is_closed
    assert own._context.http_insecure.is_closed


def test_is_a_runner_and_refuses_zero_concurrency() -> None:
    runner: Runner = EmbeddedRunner(concurrency=7)

    assert runner.concurrency == 7
    with pytest.raises(ValueError, match="concurrency must be at least 1"):
        EmbeddedRunner(concurrency=0)


@pytest.mark.parametrize(("check_state", "host_state"), [(0, 0), (1, 0), (2, 1), (3, 1)])
async def test_a_host_check_answers_up_or_down(
    offline_context: CheckContext, check_state: int, host_state: int
) -> None:
    async def judged(config: ActiveCheckConfig, address: str, ctx: CheckContext) -> Outcome:
        return Outcome(state=check_state, summary="ALIVE ...")

    runner = EmbeddedRunner(context=offline_context, execute=judged)
    host_job = CheckJob("web1", "", AliveParams(), "127.0.0.1")

    host_result = await runner.run(host_job)
    service_result = await runner.run(job())

    assert host_result.state == host_state
    assert service_result.state == check_state


@pytest.mark.integration
async def test_alive_as_a_host_check_is_down_when_nothing_answers(refused_port: int) -> None:
    runner = EmbeddedRunner(clock=lambda: 5.0)
    config = AliveParams(ping=False, ports=(refused_port,))
    try:
        result = await runner.run(CheckJob("web1", "", config, "127.0.0.1"))
    finally:
        await runner.aclose()

    assert result.state == 1  # DOWN
    expected = f"ALIVE DOWN - 127.0.0.1: no TCP answer: port {refused_port} connection refused"
    assert result.summary == expected


async def test_each_check_gets_the_context_with_its_host_and_service(
    offline_context: CheckContext,
) -> None:
    seen: list[CheckContext] = []

    async def remember(config: ActiveCheckConfig, address: str, ctx: CheckContext) -> Outcome:
        seen.append(ctx)
        return Outcome(state=0, summary="OK")

    runner = EmbeddedRunner(context=offline_context, execute=remember)
    await runner.run(CheckJob("web01", "HTTP", TcpParams(port=80), "192.0.2.1"))

    assert seen == [dataclasses.replace(offline_context, host="web01", service="HTTP")]
