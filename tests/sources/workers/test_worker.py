"""A worker without NATS: every check type's config crosses the wire as it was given, what a
worker makes of jobs it cannot run, and stopping while NATS is unreachable."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from lookout.checks.active.registry import validate_check_config
from lookout.checks.active.tcp import TcpParams
from lookout.sources.workers import wire
from lookout.sources.workers.connection import NatsAccess
from lookout.sources.workers.worker import Worker, WorkerOptions


def worker() -> Worker:
    return Worker(NatsAccess("nats://127.0.0.1:1"), WorkerOptions(site="s", pool="default"))


def job(
    check: dict[str, object], command: tuple[str, str] | None = None, service: str = "x"
) -> wire.Job:
    now = time.time()
    return wire.Job(
        id="j1",
        site="s",
        pool="default",
        host="h1",
        service=service,
        address="127.0.0.1",
        check=check,
        command=command,
        scheduled_at=now,
        issued_at=now,
        deadline=now + 60,
    )


async def test_a_check_type_it_does_not_know_is_unknown_saying_so() -> None:
    w = worker()
    result = await w.run_job(job({"type": "snmp-walk", "oid": "1.3.6"}))
    assert result.state == 3
    assert result.summary.startswith(f"worker {w.id} cannot run this check: 1 validation error")


async def test_a_command_line_it_cannot_use_is_unknown_and_a_host_check_down() -> None:
    w = worker()
    result = await w.run_job(
        job(
            {"type": "nagios", "command": "bad"},
            command=("bad", "check_x -H $HOSTADDRESS$"),
            service="",
        )
    )
    assert result.state == 1  # a host check: DOWN, as the embedded runner maps UNKNOWN
    assert "cannot run this check: program 'check_x' must be an absolute path" in result.summary


async def test_it_runs_the_command_definition_the_job_carries() -> None:
    w = worker()
    line = "/bin/sh -c 'echo \"OK - $ARG1$ on $HOSTADDRESS$\"'"
    check = {"type": "nagios", "command": "say", "args": ["hello"]}
    result = await w.run_job(job(check, command=("say", line)))
    line2 = "/bin/sh -c 'echo \"WARNING - changed\"; exit 1'"
    changed = await w.run_job(job(check, command=("say", line2)))
    await w.runner.aclose()
    assert (result.state, result.summary) == (0, "OK - hello on 127.0.0.1")
    assert (changed.state, changed.summary) == (1, "WARNING - changed")


async def test_it_stops_while_nats_is_unreachable() -> None:
    w = worker()
    task = asyncio.create_task(w.run())
    await asyncio.sleep(0.2)
    w.stop()
    async with asyncio.timeout(2):
        await task


@pytest.mark.parametrize(
    "config",
    [
        {"type": "tcp", "port": 22, "warn": 0.5},
        {"type": "http", "url": "https://example.org/health", "expect_status": [200]},
        {"type": "http", "tls": True, "port": 8443, "path": "/x", "conditions": [{"json": "$.a"}]},
        {"type": "tls", "port": 25, "starttls": "smtp", "warn_days": 21, "crit_days": 7},
        {"type": "dns", "name": "www.example.org", "record_type": "MX", "expect": ["mx1"]},
        {"type": "ping", "count": 3, "rta": [100, 300]},
        {"type": "alive", "ports": [9100]},
        {"type": "nagios", "command": "check_tcp", "args": ["22"], "timeout": 30},
    ],
)
def test_every_check_type_crosses_the_wire_as_it_was_given(config: dict[str, Any]) -> None:
    validated = validate_check_config(config)
    assert validate_check_config(wire.check_payload(validated)) == validated


def test_a_config_made_in_code_keeps_its_type() -> None:
    assert wire.check_payload(TcpParams(port=1)) == {"type": "tcp", "port": 1}
