"""``lookout command …`` against a real site."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.integration


def test_add_list_show_remove(cli: Any) -> None:
    name = f"check_{uuid.uuid4().hex[:8]}"
    out = cli.ok("command", "add", name, "$USER1$/check_tcp -H $HOSTADDRESS$ -p '$ARG1$'").stdout
    assert f"command {name} added: $USER1$/check_tcp -H $HOSTADDRESS$ -p $ARG1$" in out
    assert name in cli.ok("command", "list").stdout
    assert name in {c["name"] for c in cli.json("command", "list")["items"]}
    shown = cli.ok("command", "show", name).stdout
    assert "argv[4]  $ARG1$" in shown
    assert "used by  -" in shown
    cli.ok("command", "remove", name)
    gone = cli("command", "show", name)
    assert gone.exit_code == 1
    assert "not found" in gone.output


def test_a_bad_line_names_the_field(cli: Any) -> None:
    result = cli("command", "add", "bad", "check_tcp -p 22")
    assert result.exit_code == 1
    assert "command_line" in result.output
    assert "absolute path" in result.output


def test_a_command_in_use_cannot_be_removed(cli: Any) -> None:
    name = f"check_{uuid.uuid4().hex[:8]}"
    host = f"h-{uuid.uuid4().hex[:8]}"
    cli.ok("command", "add", name, "/bin/echo $ARG1$")
    cli.ok("host", "add", host)
    check = f'{{"type": "nagios", "command": "{name}", "args": ["hi"]}}'
    cli.ok("service", "add", host, "Echo", "--check-json", check)
    result = cli("command", "remove", name)
    assert result.exit_code == 1
    assert f"{host}/Echo" in result.output


def test_add_replace_sets_a_new_line(cli: Any) -> None:
    name = f"check_{uuid.uuid4().hex[:8]}"
    created = cli.json("command", "add", name, "/bin/echo one", "--replace")
    assert created["argv"] == ["/bin/echo", "one"]
    taken = cli("command", "add", name, "/bin/echo two")
    assert taken.exit_code == 1
    out = cli.ok("command", "add", name, "/bin/echo two", "--replace").stdout
    assert f"command {name} set: /bin/echo two" in out
    assert cli.json("command", "show", name)["argv"] == ["/bin/echo", "two"]
