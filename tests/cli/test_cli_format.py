"""Parsing what people type and rendering what they read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import typer
from rich.console import Console

from lookout.cli.format import (
    handled_marks,
    human_duration,
    parse_duration,
    parse_interval,
    parse_json_object,
    parse_labels,
    parse_time,
    parsed,
    problems_view,
    relative,
)
from lookout.cli.handling_cmds import downtime_window, event_types, split_comment
from lookout.cli.objects_cmds import split_submit

NOW = 1_750_000_000.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("2h", 7200),
        ("2h30m", 9000),
        ("1d", 86400),
        ("7d", 604800),
        ("1w", 604800),
        (" 2H ", 7200),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "2", "h", "2x", "1.5h", "-1h", "30m2h", "0s", "999999w"])
def test_bad_durations_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_intervals_take_plain_seconds_too() -> None:
    assert (parse_interval("90"), parse_interval("5m")) == (90, 300)
    with pytest.raises(ValueError, match="'0' is not a duration"):
        parse_interval("0")


def test_times() -> None:
    assert parse_time("1750000000") == NOW
    assert parse_time("2025-06-15T15:06:40Z") == NOW
    assert parse_time("2025-06-15T17:06:40+02:00") == NOW
    local = datetime(2025, 6, 15, 12, 0).astimezone()
    assert parse_time("2025-06-15T12:00") == local.timestamp()
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time("tomorrow")


def test_labels() -> None:
    assert parse_labels(["env=prod", "team=db=x", "empty="]) == {
        "env": "prod",
        "team": "db=x",
        "empty": "",
    }
    with pytest.raises(ValueError, match="key=value"):
        parse_labels(["env"])
    with pytest.raises(ValueError, match="key=value"):
        parse_labels(["=prod"])


def test_json_objects() -> None:
    assert parse_json_object('{"type": "tcp"}', "check") == {"type": "tcp"}
    with pytest.raises(ValueError, match="check: not valid JSON"):
        parse_json_object("{type: tcp}", "check")
    with pytest.raises(ValueError, match="expected a JSON object"):
        parse_json_object("[1]", "check")


def test_parse_errors_become_usage_errors() -> None:
    with pytest.raises(typer.BadParameter, match="expected key=value"):
        parsed(parse_labels, ["x"], "--label")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (59, "59s"),
        (60, "1m"),
        (3599, "59m"),
        (3600, "1h"),
        (7500, "2h5m"),
        (86400, "1d"),
        (90000, "1d1h"),
        (-120, "2m"),
    ],
)
def test_human_durations(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_relative_times() -> None:
    assert relative(NOW - 180, NOW) == "3m ago"
    assert relative(NOW + 7200, NOW) == "in 2h"
    assert relative(NOW - 0.2, NOW) == "just now"
    assert relative(None, NOW) == "never"


def _svc(**kw: Any) -> dict[str, Any]:
    base = {
        "host": "h",
        "name": "s",
        "state": 2,
        "state_name": "CRIT",
        "state_type": "hard",
        "checked": True,
        "attempt": 1,
        "max_check_attempts": 1,
        "summary": "",
        "last_state_change": NOW - 60,
        "last_check": NOW - 5,
        "acknowledged": False,
        "acknowledgement": None,
        "in_downtime": False,
        "host_in_downtime": False,
        "handled": False,
        "host_problem": False,
    }
    return {**base, **kw}


@pytest.mark.parametrize(
    ("fields", "marks"),
    [
        ({}, []),
        (
            {"acknowledged": True, "acknowledgement": {"author": "ann"}, "handled": True},
            ["ack by ann"],
        ),
        ({"in_downtime": True, "handled": True}, ["downtime"]),
        ({"host_in_downtime": True, "handled": True}, ["host downtime"]),
        ({"handled": True}, ["host down"]),
        ({"acknowledged": True, "host_problem": True, "handled": True}, ["ack", "host down"]),
    ],
)
def test_handled_marks(fields: dict[str, Any], marks: list[str]) -> None:
    assert handled_marks(_svc(**fields)) == marks


def _render(renderable: Any) -> str:
    console = Console(width=200, no_color=True)
    with console.capture() as cap:
        console.print(renderable)
    return cap.get()


def test_problems_show_unhandled_first_and_spell_states_out() -> None:
    items = [
        _svc(name="acked", acknowledged=True, handled=True),
        _svc(name="soft", state=1, state_name="WARN", state_type="soft", max_check_attempts=3),
    ]
    text = _render(problems_view(items, NOW))
    assert "2 problems, 1 unhandled" in text
    assert text.index("soft") < text.index("acked")
    assert "WARN (soft 1/3)" in text
    assert "1m ago" in text
    assert "No problems." in _render(problems_view([], NOW))


@pytest.mark.parametrize(
    ("args", "parts"),
    [
        (["h", "CRIT", "x"], ("h", None, "CRIT", "x")),
        (["h", "disk /", "2", "full"], ("h", "disk /", "2", "full")),
    ],
)
def test_submit_arguments(args: list[str], parts: tuple[str, str | None, str, str]) -> None:
    assert split_submit(args) == parts


def test_submit_and_comment_arguments_are_counted() -> None:
    with pytest.raises(ValueError, match="HOST \\[SERVICE\\] STATE SUMMARY"):
        split_submit(["h", "CRIT"])
    assert split_comment(["h", "note"]) == ("h", None, "note")
    assert split_comment(["h", "s", "note"]) == ("h", "s", "note")
    with pytest.raises(ValueError, match="HOST \\[SERVICE\\] TEXT"):
        split_comment(["h", "s", "note", "more"])


def test_downtime_windows() -> None:
    assert downtime_window(NOW, None, None, 7200, False) == {
        "start": NOW,
        "end": NOW + 7200,
        "fixed": True,
    }
    assert downtime_window(NOW, NOW + 60, NOW + 3600, None, False)["end"] == NOW + 3600
    flexible = downtime_window(NOW, None, NOW + 86400, 1800, True)
    assert flexible == {"start": NOW, "end": NOW + 86400, "fixed": False, "duration": 1800}


@pytest.mark.parametrize(
    ("start", "end", "duration", "flexible", "message"),
    [
        (None, None, None, False, "give --duration"),
        (None, NOW + 60, None, True, "needs --duration"),
        (None, NOW + 60, 60.0, False, "not both"),
        (NOW + 120, NOW + 60, None, False, "end after it starts"),
    ],
)
def test_bad_downtime_windows(
    start: float | None, end: float | None, duration: float | None, flexible: bool, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        downtime_window(NOW, start, end, duration, flexible)


def test_event_types_are_checked() -> None:
    assert event_types(["state_change", "ack_set"]) == ["state_change", "ack_set"]
    with pytest.raises(ValueError, match="expected one of state_change"):
        event_types(["statechange"])
