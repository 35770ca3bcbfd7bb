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
