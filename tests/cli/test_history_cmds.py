"""``lookout acknowledgements``, ``lookout comments`` and ``lookout metrics`` against a real
site."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Cli

pytestmark = pytest.mark.integration


def _host(cli: Cli) -> str:
    host = f"hist-{uuid.uuid4().hex[:8]}"
    cli.ok("host", "add", host)
    cli.ok("service", "add", host, "load", "--max-check-attempts", "1")
    return host


def test_acknowledgements_are_listed(cli: Cli) -> None:
    host = _host(cli)
    cli.ok("submit", host, "load", "CRIT", "load 30")
    assert cli.json("acknowledgements", "--host", host)["items"] == []
    cli.ok("ack", host, "load", "-c", "looking", "--expire", "1d12h")
    [ack] = cli.json("acknowledgements", "--host", host)["items"]
    assert (ack["service"], ack["author"], ack["comment"]) == ("load", "admin", "looking")
    assert ack["expire_at"] - ack["set_at"] == pytest.approx(36 * 3600, abs=60)
    table = cli.ok("acknowledgements", "--host", host).stdout
    assert f"{host}/load" in table
    assert "CRIT" in table
    assert "looking" in table
    assert "in 1d11h" in table or "in 1d12h" in table


def test_comments_are_listed_oldest_first(cli: Cli) -> None:
    host = _host(cli)
    cli.ok("comment", host, "first note")
    cli.ok("comment", host, "load", "second note")
    items = cli.json("comments", "--host", host)["items"]
    assert sorted(c["text"] for c in items) == ["first note", "second note"]
    only = cli.json("comments", "--host", host, "--service", "load")["items"]
    assert [c["text"] for c in only] == ["second note"]
    table = cli.ok("comments", "--host", host).stdout
    assert table.index("first note") < table.index("second note")
    first = next(c["id"] for c in items if c["text"] == "first note")
    assert "removed" in cli.ok("uncomment", str(first)).stdout
    assert [c["text"] for c in cli.json("comments", "--host", host)["items"]] == ["second note"]


def test_metrics_summarise_each_series(cli: Cli) -> None:
    host = _host(cli)
    for value in (1, 3, 2):
        cli.ok("submit", host, "load", "OK", "fine", "--perfdata", f"load1={value};4;8;0")
    answer = cli.json("metrics", host, "load", "--since", "1d", "--step", "1m")
    [series] = answer["series"]
    assert series["name"] == "load1"
    assert answer["end"] - answer["start"] == pytest.approx(86400, abs=1)
    assert answer["step"] == 60
    same = ("metrics", host, "load", "--since", "1h", "--step", "1h")
    [points] = [[v for _, v in s["points"] if v is not None] for s in cli.json(*same)["series"]]
    table = cli.ok(*same).stdout
    assert "last 1h, one point per 1h" in table
    row = [cell.strip() for cell in next(r for r in table.splitlines() if "load1" in r).split("│")]
    assert row[1:7] == [
        "load1", str(len(points)), f"{min(points):.4g}", f"{sum(points) / len(points):.4g}",
        f"{max(points):.4g}", f"{points[-1]:.4g}",
    ]  # fmt: skip
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", row[7])
    assert row[8:10] == ["4", "8"]
    assert "one point per 15s" in cli.ok("metrics", host, "load", "--since", "1h").stdout
    empty = cli.ok("metrics", host, "--since", "1h").stdout
    assert "No metrics in this time range." in empty
    bad = cli("metrics", host, "load", "--since", "yesterday")
    assert bad.exit_code == 2
    assert "'yesterday' is not a duration" in bad.output


def test_actions_print_the_api_answer_with_json(cli: Cli) -> None:
    host = _host(cli)
    cli.ok("submit", host, "load", "CRIT", "load 30")
    acked = cli.json("ack", host, "load", "-c", "on it")
    assert (acked["objects"], acked["count"]) == ([{"host": host, "service": "load"}], 1)
    assert cli.json("unack", host, "load")["count"] == 1
    assert cli.json("comment", host, "a note")["objects"] == [{"host": host, "service": None}]
    cli.ok("service", "add", host, "port", "--check-json", '{"type": "tcp", "port": 1}')
    assert cli.json("recheck", host, "port")["count"] == 1
    added = cli.json("downtime", "add", host, "--duration", "1h", "-c", "patch")
    removed = cli.json("downtime", "remove", *map(str, added["ids"]))
    assert removed["ids"] == added["ids"]
