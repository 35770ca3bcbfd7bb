"""``lookout check-rule …`` against a real site."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.integration


def test_add_list_show_remove(cli: Any) -> None:
    name = f"tls-{uuid.uuid4().hex[:8]}"
    host = f"h-{uuid.uuid4().hex[:8]}"
    team = uuid.uuid4().hex[:8]
    cli.ok("host", "add", host, "--label", f"team={team}")
    cli.ok("service", "add", host, "Cert", "--check-json", '{"type": "tls", "port": 1}')
    out = cli.ok(
        "check-rule", "add", name, "--type", "tls", "--host-label", f"team={team}",
        "--param", "warn_days=40", "--param", "crit_days=20",
    ).stdout  # fmt: skip
    assert f"check rule {name} added at position" in out
    listed = {r["name"]: r for r in cli.json("check-rule", "list")["items"]}
    assert listed[name]["params"] == {"warn_days": 40, "crit_days": 20}
    assert name in cli.ok("check-rule", "list").stdout
    shown = cli.ok("check-rule", "show", name).stdout
    assert "warn_days=40 crit_days=20" in shown
    assert f"applies to 1: {host}/Cert" in shown
    replaced = cli.json(
        "check-rule", "add", name, "--type", "tls", "--host-label", f"team={team}",
        "--param", "warn_days=10", "--replace",
    )  # fmt: skip
    assert replaced["params"] == {"warn_days": 10}
    cli.ok("check-rule", "remove", name)
    gone = cli("check-rule", "show", name)
    assert gone.exit_code == 1
    assert "not found" in gone.output


def test_bad_params_name_the_field(cli: Any) -> None:
    result = cli("check-rule", "add", "bad", "--type", "ping", "--param", "count=lots")
    assert result.exit_code == 1
    assert "params.count" in result.output
    usage = cli("check-rule", "add", "bad", "--type", "ping", "--param", "count")
    assert usage.exit_code == 2
    assert "FIELD=VALUE" in usage.output
