"""ICMP echo (ping) check over unprivileged ICMP datagram sockets; no subprocess, no root.

Linux allows these sockets to the groups in ``net.ipv4.ping_group_range``; where the
process's group is outside it, the check is UNKNOWN and says how to allow it. Thresholds
follow Nagios ``check_icmp`` (round trip average in ms, packet loss in %; defaults
200 ms/40 % and 500 ms/80 %), and so do the metrics ``rta``, ``pl``, ``rtmin``, ``rtmax``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Annotated, Literal, Self

import icmplib
from pydantic import Field, model_validator

from lookout.checks.active import ActiveParams, CheckContext, Outcome, label
from lookout.domain.metrics import Metric

Levels = tuple[Annotated[float, Field(ge=0)], Annotated[float, Field(ge=0)]]

ALLOW_HINT = (
    'allow them with: sysctl -w net.ipv4.ping_group_range="0 2147483647" '
    "(persist it in /etc/sysctl.d/)"
)


class PingParams(ActiveParams):
    """Send ``count`` echo requests ``interval`` seconds apart; judge RTT and loss."""

    type: Literal["ping"] = Field("ping", description="Check type.")
    host: str | None = Field(
        None, min_length=1, description="Name or address to ping; default: the host's."
    )
    count: int = Field(5, ge=1, le=100, description="Echo requests to send.")
    interval: float = Field(0.2, ge=0.01, le=10, description="Seconds between requests.")
    packet_timeout: float = Field(1.0, gt=0, le=30, description="Seconds to wait for each reply.")
    rta: Levels = Field((200.0, 500.0), description="Average round trip warn/crit in ms.")
    pl: Levels = Field((40.0, 80.0), description="Packet loss warn/crit in percent.")
    rtmax: Levels | None = Field(None, description="Maximum round trip warn/crit in ms.")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for name in ("rta", "pl", "rtmax"):
            levels = getattr(self, name)
            if levels is not None and levels[1] < levels[0]:
                raise ValueError(f"{name}: crit ({levels[1]:g}) must not be below warn")
        if self.warn is not None or self.crit is not None:
            raise ValueError("ping has no warn/crit in seconds; use rta, rtmax and pl (ms, %)")
        budget = self.count * (self.interval + self.packet_timeout)
        if budget > self.timeout:
            raise ValueError(
                f"count × (interval + packet_timeout) = {budget:g} s exceeds timeout "
                f"({self.timeout:g} s); send fewer packets or raise timeout"
            )
        return self


@dataclass(frozen=True, slots=True)
class Echo:
    """What the echo requests found: times in ms, loss in percent."""

    address: str
    sent: int
    received: int
    rtmin: float
    rta: float
    rtmax: float

    @property
    def loss(self) -> float:
        """Packet loss in percent."""
        return 100.0 * (self.sent - self.received) / self.sent if self.sent else 100.0


class PingNotAllowed(Exception):
    """The kernel refuses unprivileged ICMP sockets to this process."""


async def echo(address: str, count: int, interval: float, packet_timeout: float) -> Echo:
    """Ping ``address``; raises ``PingNotAllowed``, ``OSError`` (no such name, no route)."""
    try:
        host = await icmplib.async_ping(
            address, count=count, interval=interval, timeout=packet_timeout, privileged=False
        )
    except icmplib.SocketPermissionError as exc:
        raise PingNotAllowed(not_allowed_reason()) from exc
    except icmplib.NameLookupError as exc:
        raise OSError(f"Name resolution failed: {address}") from exc
    except icmplib.ICMPLibError as exc:
        raise OSError(str(exc) or type(exc).__name__) from exc
    return Echo(
        host.address, host.packets_sent, host.packets_received, host.min_rtt, host.avg_rtt,
        host.max_rtt,
    )  # fmt: skip


def not_allowed_reason() -> str:
    """Why ping is UNKNOWN here, and how to allow it."""
    return (
        f"unprivileged ICMP sockets are not allowed for group {os.getgid()} "
        f"(net.ipv4.ping_group_range); {ALLOW_HINT}"
    )


async def run(params: PingParams, target_address: str, ctx: CheckContext) -> Outcome:
    """Ping; CRIT on no answer or on RTT/loss thresholds, UNKNOWN where ping is not allowed."""
    address = params.host or target_address
    try:
        found = await echo(address, params.count, params.interval, params.packet_timeout)
    except PingNotAllowed as exc:
        return Outcome(state=3, summary=f"PING UNKNOWN - {exc}")
    except OSError as exc:
        return Outcome(state=2, summary=f"PING CRITICAL - {address}: {exc}")
    return _judge(params, address, found)


def _judge(params: PingParams, address: str, found: Echo) -> Outcome:
    loss = found.loss
    states = [_level(loss, params.pl)]
    if found.received:
        states += [_level(found.rta, params.rta)]
        states += [_level(found.rtmax, params.rtmax)] if params.rtmax else []
    state = max(states) if found.received else 2
    rta = f"rta {found.rta:.3f} ms" if found.received else "rta nan"
    summary = f"PING {label(state)} - {address} {rta}, lost {loss:g}%"
    if found.received and found.address != address:
        summary += f" ({found.address})"
    return Outcome(state, summary, metrics=_metrics(params, found))


def _level(value: float, levels: tuple[float, float] | None) -> int:
    if levels is None:
        return 0
    return 2 if value >= levels[1] else 1 if value >= levels[0] else 0


def _metrics(params: PingParams, found: Echo) -> tuple[Metric, ...]:
    loss = Metric("pl", found.loss, "%", warn=params.pl[0], crit=params.pl[1], min=0, max=100)
    if not found.received:
        return (loss,)
    rtmax = params.rtmax or (None, None)
    return (
        Metric("rta", found.rta, "ms", warn=params.rta[0], crit=params.rta[1], min=0.0),
        loss,
        Metric("rtmin", found.rtmin, "ms", min=0.0),
        Metric("rtmax", found.rtmax, "ms", warn=rtmax[0], crit=rtmax[1], min=0.0),
    )
