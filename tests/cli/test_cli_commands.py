"""The CLI against a real site (``lookout serve`` from conftest.py): commands, tables, --json."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Cli, RunningSite

pytestmark = pytest.mark.integration


def test_problem_is_submitted_listed_acknowledged_and_unacknowledged(cli: Cli) -> None:
    cli.ok("host", "add", "web1", "--address", "10.0.0.1", "--label", "env=prod")
    cli.ok("service", "add", "web1", "disk /", "--max-check-attempts", "1", "--interval", "5m")
    out = cli.ok("submit", "web1", "disk /", "CRIT", "disk full", "--perfdata", "used=99%;80;90")
    assert "CRIT submitted for web1/disk /" in out.stdout

    table = cli.ok("problems", "--host", "web1").stdout
    assert "1 problem, 1 unhandled" in table
    assert "disk /" in table
    assert "CRIT" in table
    assert "disk full" in table
    [item] = cli.json("problems", "--host", "web1")["items"]
    assert (item["state_name"], item["handled"]) == ("CRIT", False)
    assert item["check_interval"] == 300

    assert "acknowledged" in cli.ok("ack", "web1", "disk /", "-c", "on it").stdout
    table = cli.ok("problems", "--host", "web1").stdout
    assert "0 unhandled" in table
    assert "ack by admin" in table
    assert cli.json("problems", "--host", "web1", "--unhandled")["items"] == []

    cli.ok("unack", "web1", "disk /")
    [item] = cli.json("problems", "--host", "web1")["items"]
    assert item["acknowledged"] is False


def test_host_and_service_listings(cli: Cli) -> None:
    cli.ok("host", "add", "app1", "--label", "team=blue", "--group", "apps")
    cli.ok(
        "host", "add", "app2", "--parent", "app1", "--label", "team=blue", "--address", "127.0.0.1"
    )
    cli.ok("service", "add", "app2", "http", "--check-json", '{"type": "tcp", "port": 1}')
    cli.ok("submit", "app1", "UP", "fine")

    names = [h["name"] for h in cli.json("host", "list", "--label", "team=blue")["items"]]
    assert names == ["app1", "app2"]
    assert [h["name"] for h in cli.json("host", "list", "--name", "pp2")["items"]] == ["app2"]
    table = cli.ok("host", "list", "--label", "team=blue").stdout
    assert "app1" in table
    assert "UP" in table
    assert "No host check" in table  # app2 has none: UP, and the table says why

    shown = cli.json("host", "show", "app2")
    assert shown["host"]["parents"] == ["app1"]
    assert [s["name"] for s in shown["services"]] == ["http"]
    assert "http" in cli.ok("host", "show", "app2").stdout
    [svc] = cli.json("service", "list", "--host", "app2")["items"]
    assert svc["passive"] is False

    cli.ok("service", "remove", "app2", "http")
    assert cli.json("service", "list", "--host", "app2")["items"] == []


def test_host_down_marks_its_service_problems_handled(cli: Cli) -> None:
    cli.ok("host", "add", "edge1")
    cli.ok("service", "add", "edge1", "ping", "--max-check-attempts", "1")
    cli.ok("submit", "edge1", "DOWN", "no route")
    cli.ok("submit", "edge1", "ping", "2", "timeout")
    table = cli.ok("problems", "--host", "edge1").stdout
    assert "host down" in table
    assert "0 unhandled" in table
    assert "DOWN" in cli.ok("host", "list", "--state", "down").stdout


def test_downtimes_are_added_listed_and_removed(cli: Cli) -> None:
    cli.ok("host", "add", "db1")
    answer = cli.json(
        "downtime", "add", "db1", "--duration", "2h", "-c", "patching", "--include-services"
    )
    [dt_id] = answer["ids"]
    end = (datetime.now() + timedelta(hours=3)).isoformat(timespec="minutes")
    flexible = cli.ok(
        "downtime", "add", "db1", "--flexible", "--duration", "30m", "--end", end, "-c", "whenever"
    )
    assert "scheduled on db1" in flexible.stdout

    listed = cli.json("downtime", "list", "--host", "db1")["items"]
    assert (listed[0]["id"], listed[0]["active"], listed[0]["fixed"]) == (dt_id, True, True)
    assert listed[1]["duration"] == 1800
    table = cli.ok("downtime", "list", "--host", "db1").stdout
    assert "patching" in table
    assert "flexible 30m" in table
    assert "active" in table

    ids = [str(d["id"]) for d in listed]
    assert "removed" in cli.ok("downtime", "remove", *ids).stdout
    assert cli.json("downtime", "list", "--host", "db1")["items"] == []


def test_comment_recheck_and_events(cli: Cli) -> None:
    cli.ok("host", "add", "mq1")
    cli.ok("service", "add", "mq1", "queue", "--max-check-attempts", "1")
    cli.ok("submit", "mq1", "queue", "WARN", "queue 900")
    cli.ok("comment", "mq1", "queue", "draining slowly")
    cli.ok("comment", "mq1", "host note")
    refused = cli("recheck", "mq1", "queue")
    assert refused.exit_code == 1
    assert "passive" in refused.output
    cli.ok("service", "add", "mq1", "port", "--check-json", '{"type": "tcp", "port": 9}')
    cli.ok("recheck", "mq1", "port")

    items = cli.json("events", "--host", "mq1", "--since", "1h")["items"]
    types = {e["type"] for e in items}
    assert {"state_change", "comment", "recheck"} <= types
    changes = cli.json("events", "--host", "mq1", "--service", "queue", "--type", "state_change")[
        "items"
    ]
    assert [e["state"] for e in changes] == [1]
    table = cli.ok("events", "--host", "mq1").stdout
    assert "WARN" in table
    assert "draining slowly" in table


def test_tokens_are_created_used_and_revoked(cli: Cli, site: RunningSite) -> None:
    created = cli.json("token", "create", "ci", "--role", "viewer")
    assert created["token"].startswith("lk_")
    assert created["role"] == "viewer"
    assert "ci" in [t["name"] for t in cli.json("token", "list")["items"]]
    assert "ci" in cli.ok("token", "list").stdout

    as_viewer = ["--url", site.url, "--token", created["token"]]
    assert cli("host", "list", *as_viewer, connect=False).exit_code == 0
    refused = cli("host", "add", "nope1", *as_viewer, connect=False)
    assert refused.exit_code == 1
    assert "needs admin" in refused.stderr

    cli.ok("token", "revoke", str(created["id"]))
    assert "ci" not in [t["name"] for t in cli.json("token", "list")["items"]]
    revoked = cli("host", "list", *as_viewer, connect=False)
    assert revoked.exit_code == 1
    assert "invalid bearer token" in revoked.stderr


def test_a_user_is_removed_with_its_tokens(cli: Cli) -> None:
    cli.ok("user", "add", "bob", "--role", "operator")
    token = cli.json("token", "create", "bob's", "--user", "bob")["token"]
    refused = cli("user", "remove", "bob", input="n\n")
    assert refused.exit_code == 1
    assert "bob" in {u["name"] for u in cli.json("user", "list")["items"]}
    assert "user bob removed" in cli.ok("user", "remove", "bob", "--yes").stdout
    assert "bob" not in {u["name"] for u in cli.json("user", "list")["items"]}
    as_bob = cli("problems", "--url", cli.site.url, "--token", token, connect=False)
    assert as_bob.exit_code == 1
    gone = cli("user", "remove", "bob", "--yes")
    assert gone.exit_code == 1
    assert "not found" in gone.output


def test_users_are_added_and_listed(cli: Cli) -> None:
    out = cli.ok(
        "user",
        "add",
        "alice",
        "--role",
        "operator",
        "--email",
        "a@example.org",
        "--password-stdin",
        input="correct horse\n",
    )
    assert "user alice (operator) added" in out.stdout
    users = {u["name"]: u for u in cli.json("user", "list")["items"]}
    assert users["alice"]["role"] == "operator"
    assert users["alice"]["has_password"] is True
    assert "alice" in cli.ok("user", "list").stdout
    token = cli.ok("token", "create", "alice laptop", "--user", "alice", "--role", "operator")
    assert token.stdout.strip().startswith("lk_")  # the token alone: `> file` keeps just it
    assert len(token.stdout.split()) == 1
    assert "created for alice" in token.stderr
    assert "Shown once" in token.stderr


def test_host_remove_asks_first(cli: Cli) -> None:
    cli.ok("host", "add", "old1")
    declined = cli("host", "remove", "old1", input="n\n")
    assert declined.exit_code == 1
    cli.ok("host", "show", "old1")
    cli.ok("host", "remove", "old1", "--yes")
    assert cli("host", "show", "old1").exit_code == 1


def test_api_errors_show_detail_and_field_paths(cli: Cli) -> None:
    missing = cli("host", "show", "nope")
    assert missing.exit_code == 1
    assert "host 'nope' not found" in missing.stderr
    assert missing.stdout == ""

    bad = cli("host", "add", "bad1", "--label", "no space=1")
    assert bad.exit_code == 1
    assert "• labels:" in bad.stderr

    unknown = cli("submit", "nope", "svc", "CRIT", "x")
    assert unknown.exit_code == 1
    assert "• host: unknown host 'nope'" in unknown.stderr

    cli.ok("host", "add", "dup1")
    assert "exists already" in cli("host", "add", "dup1").stderr


def test_connection_precedence_and_failures(cli: Cli, site: RunningSite) -> None:
    dead = "http://127.0.0.1:9"
    env_wins = cli("host", "list", env={"LOOKOUT_URL": dead})
    assert env_wins.exit_code == 3
    assert "cannot reach" in env_wins.stderr
    flag_wins = cli("host", "list", "--url", site.url, env={"LOOKOUT_URL": dead})
    assert flag_wins.exit_code == 0
    env_only = cli(
        "host", "list", connect=False, env={"LOOKOUT_URL": site.url, "LOOKOUT_TOKEN": site.token}
    )
    assert env_only.exit_code == 0


def test_a_service_gets_an_event_handler(cli: Cli) -> None:
    cli.ok("host", "add", "eh1")
    cli.ok("command", "add", "notify_eh", "/bin/echo $SERVICESTATE$ $ARG1$")
    cli.ok("service", "add", "eh1", "queue", "--event-handler", "notify_eh", "--handler-arg", "x")
    shown = cli.json("host", "show", "eh1")
    [svc] = shown["services"]
    assert svc["event_handler"] == {"command": "notify_eh", "args": ["x"], "timeout": 30.0}
    out = cli("service", "add", "eh1", "other", "--event-handler", "no_such")
    assert out.exit_code != 0
    assert "event_handler.command" in out.stderr
