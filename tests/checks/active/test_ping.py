"""The ping check against 127.0.0.1 over real unprivileged ICMP sockets.

Needs ``net.ipv4.ping_group_range`` to include this process's group; ``scripts/test-deps.d/
ping.sh`` sets it in CI. Without it these tests are skipped and say why.
"""

from __future__ import annotations

import socket

import pytest

from lookout.checks.active import CheckContext
from lookout.checks.active.ping import ALLOW_HINT, PingParams, not_allowed_reason, run

pytestmark = pytest.mark.integration


def _ping_allowed() -> bool:
    try:
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP).close()
    except PermissionError:
        return False
    return True


needs_ping = pytest.mark.skipif(
    not _ping_allowed(),
    reason=f"the kernel forbids unprivileged ICMP here: {ALLOW_HINT} (scripts/test-deps.d/ping.sh)",
)


@needs_ping
async def test_localhost_answers(check_context: CheckContext) -> None:
    params = PingParams(count=3, interval=0.01)

    outcome = await run(params, "127.0.0.1", check_context)

    assert outcome.state == 0, outcome.summary
    assert outcome.summary.startswith("PING OK - 127.0.0.1 rta ")
    assert outcome.summary.endswith(" ms, lost 0%")
    names = [(m.name, m.unit, m.warn, m.crit) for m in outcome.metrics]
    assert names == [
        ("rta", "ms", 200.0, 500.0),
        ("pl", "%", 40.0, 80.0),
        ("rtmin", "ms", None, None),
        ("rtmax", "ms", None, None),
    ]
    rta, loss, rtmin, rtmax = (m.value for m in outcome.metrics)
    assert loss == 0
    assert 0 < rtmin <= rta <= rtmax < 100


@needs_ping
@pytest.mark.parametrize(
    ("levels", "state", "word"), [((0.0, 1000.0), 1, "WARNING"), ((0.0, 0.0), 2, "CRITICAL")]
)
async def test_rta_thresholds(
    check_context: CheckContext, levels: tuple[float, float], state: int, word: str
) -> None:
    params = PingParams(count=2, interval=0.01, rta=levels)

    outcome = await run(params, "127.0.0.1", check_context)

    assert outcome.state == state
    assert outcome.summary.startswith(f"PING {word} - 127.0.0.1 rta ")


@needs_ping
async def test_rtmax_thresholds(check_context: CheckContext) -> None:
    params = PingParams(count=2, interval=0.01, rtmax=(0.0, 1000.0))

    outcome = await run(params, "127.0.0.1", check_context)

    assert outcome.state == 1
    assert outcome.metrics[3].warn == 0.0


@needs_ping
async def test_no_answer_is_critical_with_full_loss(check_context: CheckContext) -> None:
    params = PingParams(count=2, interval=0.01, packet_timeout=0.2)

    outcome = await run(params, "240.0.0.1", check_context)  # reserved: nobody answers

    assert outcome.state == 2
    assert outcome.summary.startswith("PING CRITICAL - 240.0.0.1")
    if outcome.metrics:  # no route at all gives an error without metrics
        assert outcome.summary == "PING CRITICAL - 240.0.0.1 rta nan, lost 100%"
        assert [m.name for m in outcome.metrics] == ["pl"]


@needs_ping
async def test_unknown_name_is_critical(check_context: CheckContext) -> None:
    outcome = await run(PingParams(count=1), "no-such-host.invalid", check_context)

    assert outcome.state == 2
    assert outcome.summary == (
        "PING CRITICAL - no-such-host.invalid: Name resolution failed: no-such-host.invalid"
    )


def test_not_allowed_reason_says_how_to_allow() -> None:
    reason = not_allowed_reason()

    assert "net.ipv4.ping_group_range" in reason
    assert 'sysctl -w net.ipv4.ping_group_range="0 2147483647"' in reason


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"warn": 1.0}, "use rta, rtmax and pl"),
        ({"rta": (500, 200)}, r"rta: crit \(200\) must not be below warn"),
        ({"count": 20, "timeout": 5}, r"= 24 s exceeds timeout \(5 s\)"),
    ],
)
def test_params_are_checked(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PingParams.model_validate(fields)
