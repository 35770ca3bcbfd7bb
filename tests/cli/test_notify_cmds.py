"""``lookout notifications …`` against a real site."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

SETUP = """
[[channels]]
name = "ops-hook"
spec = { type = "webhook", url = "http://127.0.0.1:9/hook", max_attempts = 1 }

[[rules]]
name = "web-crit"
channels = ["ops-hook"]
hosts = ["web-*"]
states = ["CRIT", "DOWN"]
repeat_every = 1800
"""


def test_apply_rules_and_dry_run(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "notify.toml"
    path.write_text(SETUP)
    out = cli.ok("notifications", "apply", str(path)).stdout
    assert "rule web-crit saved" in out
    assert "web-crit" in cli.ok("notifications", "rules").stdout
    hit = cli.ok("notifications", "test", "web-crit", "--host", "web-1", "--service", "HTTP")
    assert "ops-hook" in hit.stdout
    assert "Would notify" in hit.stdout
    miss = cli.ok("notifications", "test", "web-crit", "--host", "db-1", "--state", "DOWN")
    assert "Nobody would be notified" in miss.stdout
    assert "host db-1 not in ['web-*']" in miss.stdout
    assert cli.json("notifications", "list")["total"] >= 0
    bad = cli("notifications", "test", "nope", "--host", "x")
    assert bad.exit_code == 1
    assert "rule 'nope' not found" in bad.output


def test_invalid_file_reports_the_field(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[rules]]\nname = "r"\nchannels = ["x"]\nstate_types = ["firm"]\n')
    result = cli("notifications", "apply", str(path))
    assert result.exit_code == 1
    assert "state_types" in result.output


def test_channels_rules_and_contacts_are_listed_and_removed(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "notify.toml"
    path.write_text(
        SETUP.replace("ops-hook", "gone-hook").replace("web-crit", "gone-rule")
        + '\n[[contacts]]\nuser = "admin"\ngroups = ["dba"]\n'
    )
    cli.ok("notifications", "apply", str(path))
    contacts = {c["user"]: c for c in cli.json("notifications", "contacts")["items"]}
    assert contacts["admin"]["groups"] == ["dba"]
    assert "dba" in cli.ok("notifications", "contacts").stdout

    assert "rule gone-rule removed" in cli.ok("notifications", "remove-rule", "gone-rule").stdout
    assert "gone-rule" not in {r["name"] for r in cli.json("notifications", "rules")["items"]}
    out = cli.ok("notifications", "remove-channel", "gone-hook").stdout
    assert "channel gone-hook removed" in out
    assert "gone-hook" not in {c["name"] for c in cli.json("notifications", "channels")["items"]}
    again = cli("notifications", "remove-channel", "gone-hook")
    assert again.exit_code == 1
    assert "not found" in again.output
    old_name = cli("notifications", "delete-rule", "gone-rule")
    assert old_name.exit_code == 1
    assert "not found" in old_name.output
