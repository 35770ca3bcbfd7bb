"""The host-alive check against 127.0.0.1: real ICMP where allowed, real TCP servers."""

from __future__ import annotations

import pytest
from test_ping import needs_ping

from lookout.checks.active import CheckContext
from lookout.checks.active.alive import AliveParams, run

pytestmark = pytest.mark.integration


@needs_ping
async def test_up_when_ping_answers(check_context: CheckContext) -> None:
    outcome = await run(AliveParams(ports=()), "127.0.0.1", check_context)

    assert outcome.state == 0
    assert outcome.summary.startswith("ALIVE UP - 127.0.0.1 answers ping (rta ")


async def test_up_when_a_port_answers(
    check_context: CheckContext, tcp_port: int, refused_port: int
) -> None:
    params = AliveParams(ping=False, ports=(refused_port, tcp_port))

    outcome = await run(params, "127.0.0.1", check_context)

    assert outcome.state == 0
    assert outcome.summary == f"ALIVE UP - 127.0.0.1 accepts TCP connections on port {tcp_port}"


async def test_down_names_every_port_tried(
    check_context: CheckContext, refused_port: int, blackhole_port: int
) -> None:
    params = AliveParams(ping=False, ports=(blackhole_port, refused_port), timeout=0.2)

    outcome = await run(params, "127.0.0.1", check_context)

    low, high = sorted((refused_port, blackhole_port))
    reasons = {refused_port: "connection refused", blackhole_port: "timeout after 0.2 s"}
    assert outcome.state == 2
    assert outcome.summary == (
        "ALIVE DOWN - 127.0.0.1: no TCP answer: "
        f"port {low} {reasons[low]}, port {high} {reasons[high]}"
    )


@needs_ping
async def test_down_after_ping_and_ports(check_context: CheckContext) -> None:
    params = AliveParams(count=1, ports=(22,), timeout=0.3)

    outcome = await run(params, "no-such-host.invalid", check_context)

    assert outcome.state == 2
    assert outcome.summary.startswith(
        "ALIVE DOWN - no-such-host.invalid: ping failed: Name resolution failed: "
        "no-such-host.invalid; no TCP answer: port 22 name resolution failed"
    ), outcome.summary


def test_default_ports() -> None:
    assert AliveParams().ports == (22, 80, 443)
