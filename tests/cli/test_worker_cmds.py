"""``lookout pools`` and ``lookout worker``'s refusals (the pools of a NATS site are shown in
tests/sources/workers/test_faults.py, against a real nats-server)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from rich.console import Console

from lookout.cli.worker_cmds import pool_table, worker_table

if TYPE_CHECKING:
    from conftest import Cli


@pytest.mark.integration
def test_an_embedded_site_has_no_pools(cli: Cli) -> None:
    assert cli.json("pools") == {"runner": "embedded", "nats": None, "error": "", "pools": []}
    assert 'runner = "embedded"' in cli.ok("pools").stdout


@pytest.mark.parametrize(
    ("option", "value"), [("--pool", "SNMP"), ("--site-name", "a.b"), ("--pool", "")]
)
def test_worker_refuses_names_that_are_no_subject_token(cli: Cli, option: str, value: str) -> None:
    result = cli("worker", option, value, connect=False)
    assert result.exit_code == 2
    assert f"{option} {value!r}: 1-63 lower-case letters" in result.output


def test_worker_refuses_tls_files_it_cannot_read(cli: Cli) -> None:
    result = cli("worker", "--tls-ca", "/nonexistent/ca.pem", connect=False)
    assert result.exit_code == 2
    assert "NATS TLS files cannot be used" in result.output


def test_pool_and_worker_tables() -> None:
    worker = {
        "worker": "w1",
        "pool": "snmp",
        "machine": "box",
        "pid": 7,
        "concurrency": 50,
        "running": 3,
        "done": 120,
        "dropped": 1,
        "started_at": 1000.0,
        "last_seen": 1090.0,
    }
    pools = [
        {
            "pool": "snmp",
            "workers": [worker],
            "waiting": 4,
            "running": 3,
            "oldest_job_age": 2.5,
            "in_flight": 7,
            "latency_p99": 0.25,
        },
        {
            "pool": "default",
            "workers": [],
            "waiting": None,
            "running": None,
            "oldest_job_age": None,
            "in_flight": 0,
            "latency_p99": None,
        },
    ]
    console = Console(width=200, record=True, color_system=None)
    console.print(pool_table(pools))
    console.print(worker_table([worker]))
    lines = [" ".join(row.split()) for row in console.export_text().splitlines()]
    assert "│ snmp │ 1 │ 4 │ 3 │ 2.5 s │ 7 │ 250 ms │" in lines
    assert "│ default │ none │ ? │ ? │ - │ 0 │ - │" in lines
    assert "│ w1 │ snmp │ box │ 3/50 │ 120 │ 1 │ 1m │" in lines
