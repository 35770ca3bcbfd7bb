"""Host-alive check, the host check for hosts without an agent: ping, else TCP connects.

UP (0) when the host answers ping or accepts a connection on any of ``ports``; otherwise
CRITICAL (2), which a host check result turns into DOWN (see ``sources/active/runner.py``).
Where unprivileged ping is not allowed the check says so and relies on the ports.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Literal

from pydantic import Field

from lookout.checks.active import ActiveParams, CheckContext, Outcome, describe_error
from lookout.checks.active.ping import PingNotAllowed, echo

Port = Annotated[int, Field(ge=1, le=65535)]


class AliveParams(ActiveParams):
    """Ping ``count`` times; if nothing answers, try to connect to each of ``ports``."""

    type: Literal["alive"] = Field("alive", description="Check type.")
    host: str | None = Field(
        None, min_length=1, description="Name or address to try; default: the host's."
    )
    ping: bool = Field(True, description="Try ICMP echo first.")
    count: int = Field(2, ge=1, le=10, description="Echo requests to send.")
    packet_timeout: float = Field(1.0, gt=0, le=30, description="Seconds to wait per reply.")
    ports: tuple[Port, ...] = Field(
        (22, 80, 443), description="TCP ports to try when ping gets no answer (any one is UP)."
    )
    timeout: float = Field(5.0, gt=0, le=300, description="Seconds for each TCP connect.")


async def run(params: AliveParams, target_address: str, ctx: CheckContext) -> Outcome:
    """UP when ping or any port answers; the summary names what answered."""
    address = params.host or target_address
    notes: list[str] = []
    if params.ping:
        answered, note = await _ping(params, address)
        if answered:
            return Outcome(state=0, summary=f"ALIVE UP - {address} {note}")
        notes.append(note)
    if params.ports:
        port, note = await _any_port(params, address)
        if port is not None:
            summary = f"ALIVE UP - {address} {note}"
            return Outcome(state=0, summary=summary, long_output="\n".join(notes))
        notes.append(note)
    return Outcome(state=2, summary=f"ALIVE DOWN - {address}: {'; '.join(notes)}")


async def _ping(params: AliveParams, address: str) -> tuple[bool, str]:
    try:
        found = await echo(address, params.count, 0.05, params.packet_timeout)
    except PingNotAllowed:
        return False, "ping not allowed here (net.ipv4.ping_group_range)"
    except OSError as exc:
        return False, f"ping failed: {exc}"
    if found.received:
        return True, f"answers ping (rta {found.rta:.3f} ms, lost {found.loss:g}%)"
    return False, "no answer to ping"


async def _any_port(params: AliveParams, address: str) -> tuple[int | None, str]:
    tries = [asyncio.create_task(_connect(address, port, params.timeout)) for port in params.ports]
    try:
        for finished in asyncio.as_completed(tries):
            port, error = await finished
            if error is None:
                return port, f"accepts TCP connections on port {port}"
    finally:
        for task in tries:
            task.cancel()
        await asyncio.gather(*tries, return_exceptions=True)
    errors = sorted(task.result() for task in tries)
    return None, "no TCP answer: " + ", ".join(f"port {p} {e}" for p, e in errors)


async def _connect(address: str, port: int, seconds: float) -> tuple[int, str | None]:
    try:
        async with asyncio.timeout(seconds):
            _, writer = await asyncio.open_connection(address, port)
    except TimeoutError:
        return port, f"timeout after {seconds:g} s"
    except OSError as exc:
        return port, describe_error(exc).lower()
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return port, None
