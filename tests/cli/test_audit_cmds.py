"""``lookout audit`` against a real site: the CLI says it is the CLI; list, export, verify."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration


def test_changes_by_the_cli_are_listed_as_cli(cli: Any) -> None:
    host = f"aud-{uuid.uuid4().hex[:8]}"
    cli.ok("host", "add", host, "--address", "10.9.9.9")
    (entry,) = cli.json("audit", "--object", host)["items"]
    assert (entry["kind"], entry["verb"], entry["channel"]) == ("host", "create", "cli")
    assert entry["after"]["address"] == "10.9.9.9"
    table = cli.ok("audit", "--since", "1h", "--channel", "cli").stdout
    assert host in table
    assert "host create" in table


def test_export_and_verify(cli: Any, tmp_path: Path) -> None:
    cli.ok("host", "add", f"exp-{uuid.uuid4().hex[:8]}")
    out = tmp_path / "audit.jsonl"
    assert "audit log written to" in cli.ok("audit", "export", str(out)).stdout
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows
    assert {"id", "at", "actor", "channel", "hash", "prev"} <= rows[0].keys()
    assert "chain intact" in cli.ok("audit", "verify").stdout
    assert cli.json("audit", "verify")["ok"] is True


def test_a_bad_filter_is_refused(cli: Any) -> None:
    result = cli("audit", "--channel", "fax")
    assert result.exit_code == 1
    assert "channel" in result.output
    result = cli("audit", "--since", "soon")
    assert result.exit_code == 2
