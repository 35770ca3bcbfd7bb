"""``lookout host edit``, ``lookout service show`` and ``lookout service edit`` against a real
site: only the options given change, lists are replaced, null removes a check or handler."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Cli

pytestmark = pytest.mark.integration


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_host_edit_changes_only_what_is_given(cli: Cli) -> None:
    parent, host = _name("core"), _name("edge")
    cli.ok("host", "add", parent)
    cli.ok("host", "add", host, "--address", "10.0.0.1", "--label", "env=prod", "--group", "g1")
    out = cli.ok("host", "edit", host, "--address", "10.0.0.2", "--parent", parent).stdout
    assert f"host {host} changed: address, parents" in out
    shown = cli.json("host", "show", host)["host"]
    assert (shown["address"], shown["parents"]) == ("10.0.0.2", [parent])
    assert (shown["labels"], shown["groups"]) == ({"env": "prod"}, ["g1"])

    answer = cli.json(
        "host", "edit", host, "--label", "env=test", "--label", "team=db", "--interval", "2m30s"
    )
    assert answer["labels"] == {"env": "test", "team": "db"}
    assert answer["check_interval"] == 150


def test_host_edit_refuses_nothing_and_contradictions_and_names_api_errors(cli: Cli) -> None:
    host = _name("h")
    cli.ok("host", "add", host)
    nothing = cli("host", "edit", host)
    assert nothing.exit_code == 2
    assert "nothing to change" in nothing.output
    both = cli("host", "edit", host, "--passive", "--check-json", "{}")
    assert both.exit_code == 2
    assert "not both" in both.output
    loop = cli("host", "edit", host, "--parent", host)
    assert loop.exit_code == 1
    assert "parents" in loop.output
    missing = cli("host", "edit", _name("nope"), "--address", "x")
    assert missing.exit_code == 1
    assert "not found" in missing.output


def test_service_show_and_edit(cli: Cli) -> None:
    host = _name("db")
    cli.ok("host", "add", host)
    cli.ok("service", "add", host, "Disk /var", "--check-json", '{"type": "tcp", "port": 1}')
    cli.ok("submit", host, "Disk /var", "WARN", "80% used", "--perfdata", "used=80%;75;90;0;100")

    shown = cli.ok("service", "show", host, "Disk /var").stdout
    assert f"{host}/Disk /var" in shown
    assert "tcp every 1m (retry 1m)" in shown
    assert "80% used" in shown
    assert "used" in shown
    assert "75" in shown

    out = cli.ok(
        "service", "edit", host, "Disk /var", "--passive", "--stale-after", "0",
        "--params-json", '{"levels": [85, 95]}', "--max-check-attempts", "5",
    ).stdout  # fmt: skip
    assert "changed: max_check_attempts, stale_after, params, check" in out
    svc = cli.json("service", "show", host, "Disk /var")
    assert (svc["passive"], svc["check"], svc["stale_after"]) == (True, None, 0)
    assert (svc["params"], svc["max_check_attempts"]) == ({"levels": [85, 95]}, 5)
    assert "passive" in cli.ok("service", "show", host, "Disk /var").stdout

    bad = cli("service", "edit", host, "Disk /var", "--params-json", "[1]")
    assert bad.exit_code == 2
    assert "params: expected a JSON object" in bad.output
    bad_interval = cli("service", "edit", host, "Disk /var", "--interval", "5 min")
    assert bad_interval.exit_code == 2
    assert "'5 min' is not a duration" in bad_interval.output


def test_service_event_handler_is_set_and_removed(cli: Cli) -> None:
    host, command = _name("h"), f"handler_{uuid.uuid4().hex[:8]}"
    cli.ok("command", "add", command, "/bin/true $ARG1$")
    cli.ok("host", "add", host)
    cli.ok("service", "add", host, "app")
    cli.ok("service", "edit", host, "app", "--event-handler", command, "--handler-arg", "x")
    handler = cli.json("service", "show", host, "app")["event_handler"]
    assert (handler["command"], handler["args"]) == (command, ["x"])
    cli.ok("service", "edit", host, "app", "--no-event-handler")
    assert cli.json("service", "show", host, "app")["event_handler"] is None
    lone = cli("service", "edit", host, "app", "--handler-arg", "x")
    assert lone.exit_code == 2
    assert "--handler-arg needs --event-handler" in lone.output
