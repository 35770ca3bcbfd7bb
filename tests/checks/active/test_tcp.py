"""The TCP check against real local sockets; response times come from a fake timer."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from lookout.checks.active import CheckContext
from lookout.checks.active.tcp import TcpParams, run
from lookout.domain.metrics import Metric

pytestmark = pytest.mark.integration


def elapsing(ctx: CheckContext, seconds: float) -> CheckContext:
    """``ctx`` whose timer says every measurement took ``seconds``."""
    return dataclasses.replace(ctx, timer=itertools.count(0.0, seconds).__next__)


async def test_ok_names_time_host_and_port(check_context: CheckContext, tcp_port: int) -> None:
    params = TcpParams(port=tcp_port, warn=1.0, crit=5.0)

    outcome = await run(params, "127.0.0.1", elapsing(check_context, 0.001))

    assert outcome.state == 0
    assert outcome.summary == f"TCP OK - 0.001 s response time on 127.0.0.1 port {tcp_port}"
    assert outcome.metrics == (Metric("time", 0.001, "s", warn=1.0, crit=5.0, min=0.0),)


@pytest.mark.parametrize(
    ("seconds", "state", "label"),
    [(0.999, 0, "OK"), (1.0, 1, "WARNING"), (4.9, 1, "WARNING"), (5.0, 2, "CRITICAL")],
)
async def test_slow_connect_is_judged_by_thresholds(
    check_context: CheckContext, tcp_port: int, seconds: float, state: int, label: str
) -> None:
    params = TcpParams(port=tcp_port, warn=1.0, crit=5.0)

    outcome = await run(params, "127.0.0.1", elapsing(check_context, seconds))

    assert outcome.state == state
    assert outcome.summary.startswith(f"TCP {label} - {seconds:.3f} s response time")
    assert outcome.summary.endswith("(warn/crit at 1.000/5.000 s)") == (state > 0)


async def test_without_thresholds_slow_is_ok(check_context: CheckContext, tcp_port: int) -> None:
    outcome = await run(TcpParams(port=tcp_port), "127.0.0.1", elapsing(check_context, 60.0))

    assert outcome.state == 0
    assert outcome.metrics[0].warn is None


async def test_host_param_overrides_the_address(check_context: CheckContext, tcp_port: int) -> None:
    params = TcpParams(port=tcp_port, host="127.0.0.1")

    outcome = await run(params, "192.0.2.1", check_context)  # TEST-NET address, never used

    assert outcome.state == 0
    assert f"on 127.0.0.1 port {tcp_port}" in outcome.summary


async def test_refused_is_critical(check_context: CheckContext, refused_port: int) -> None:
    outcome = await run(TcpParams(port=refused_port), "127.0.0.1", check_context)

    assert outcome.state == 2
    assert outcome.summary == f"TCP CRITICAL - Connection refused on 127.0.0.1 port {refused_port}"
    assert outcome.metrics == ()


async def test_timeout_is_critical(check_context: CheckContext, blackhole_port: int) -> None:
    params = TcpParams(port=blackhole_port, timeout=0.05)

    outcome = await run(params, "127.0.0.1", check_context)

    assert outcome.state == 2
    assert outcome.summary == (
        f"TCP CRITICAL - Timeout after 0.05 s on 127.0.0.1 port {blackhole_port}"
    )
