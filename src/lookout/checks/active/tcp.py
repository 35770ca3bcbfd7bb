"""TCP connect check: can we open a connection to host:port, and how fast?"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Literal

from pydantic import Field

from lookout.checks.active import (
    ActiveParams,
    CheckContext,
    Outcome,
    describe_error,
    label,
    time_metric,
    time_state,
)


class TcpParams(ActiveParams):
    """Connect to ``port``; WARN/CRIT when connecting takes ``warn``/``crit`` seconds."""

    type: Literal["tcp"] = Field("tcp", description="Check type.")
    port: int = Field(ge=1, le=65535, description="TCP port to connect to.")
    host: str | None = Field(
        None, min_length=1, description="Name or address to connect to; default: the host's."
    )


async def run(params: TcpParams, target_address: str, ctx: CheckContext) -> Outcome:
    """Open and close one TCP connection; CRIT when it is refused or times out."""
    host = params.host or target_address
    where = f"on {host} port {params.port}"
    started = ctx.timer()
    try:
        async with asyncio.timeout(params.timeout):
            _, writer = await asyncio.open_connection(host, params.port)
    except TimeoutError:
        return _failed(f"Timeout after {params.timeout:g} s {where}")
    except OSError as exc:
        return _failed(f"{describe_error(exc)} {where}")
    elapsed = ctx.timer() - started
    await _close(writer)
    return _connected(params, elapsed, where)


def _failed(reason: str) -> Outcome:
    return Outcome(state=2, summary=f"TCP CRITICAL - {reason}")


def _connected(params: TcpParams, elapsed: float, where: str) -> Outcome:
    state, note = time_state(elapsed, params)
    summary = f"TCP {label(state)} - {elapsed:.3f} s response time {where}{note}"
    return Outcome(state=state, summary=summary, metrics=(time_metric(elapsed, params),))


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
