"""``lookout report availability`` against a real site: a table, --json and --csv."""

from __future__ import annotations

import csv
import io
import time
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Cli

pytestmark = pytest.mark.integration


def test_availability_table_json_and_csv(cli: Cli) -> None:
    cli.ok("host", "add", "rep1")
    cli.ok("service", "add", "rep1", "disk", "--max-check-attempts", "1")
    cli.ok("submit", "rep1", "disk", "CRIT", "full")
    time.sleep(0.3)
    cli.ok("submit", "rep1", "disk", "OK", "cleaned")

    table = cli.ok("report", "availability", "--host", "rep1", "--since", "1h", "--sla", "99.9")
    assert "rep1/disk" in table.stdout
    assert "missed" in table.stdout  # 0.3 s of CRIT within the site's short life
    assert "1 (longest" in table.stdout

    answer = cli.json("report", "availability", "--host", "rep1", "--since", "1h")
    [item] = answer["items"]
    assert item["seconds"]["crit"] >= 0.3
    rows = list(
        csv.DictReader(
            io.StringIO(cli.ok("report", "availability", "--host", "rep1", "--csv").stdout)
        )
    )
    assert [(r["host"], r["service"], r["outages"]) for r in rows] == [("rep1", "disk", "1")]

    bad = cli("report", "availability", "--since", "sometime")
    assert bad.exit_code != 0
    assert "since" in bad.output
