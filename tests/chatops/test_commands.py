"""Chat command parsing and topic names (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lookout.chatops.commands import Command, CommandError, parse, parse_duration
from lookout.notify.channels.zulip import TOPIC_MAX, topic_for

OBJECTS = {("db1", ""), ("db1", "Disk /var"), ("web", "HTTP")}


def p(text: str) -> Command:
    return parse(text, lambda h, s: (h, s) in OBJECTS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@**Lookout** ack", Command("ack")),
        ("ack cleaning up", Command("ack", comment="cleaning up")),
        ("ack db1/Disk /var on it", Command("ack", "db1", "Disk /var", "on it")),
        ("acknowledge db1", Command("ack", "db1", "", "")),
        ("downtime 8h db1 patching", Command("downtime", "db1", "", "patching", 8 * 3600)),
        ("dt 2h30m", Command("downtime", duration=9000)),
        ("status web/HTTP", Command("status", "web", "HTTP")),
        ("problems disk", Command("problems", filter="disk")),
        ("unack", Command("unack")),
        ("HELP", Command("help")),
    ],
)
def test_parse(text: str, expected: Command) -> None:
    assert p(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("snooze", "I do not know the command 'snooze'"),
        ("downtime", "downtime needs a duration. Use: `downtime 1h|8h|1d|7d"),
        ("downtime soon", "'soon' is not a duration"),
        ("downtime 99999999999999w", "is not a duration"),
        ("downtime 99999999w", "a duration lasts at most 100 years"),
        ("downtime " + "9" * 5000 + "h", "is not a duration"),
        ("status nope", "'nope' is not a known host or host/service. Use: `status [host"),
        ("", "empty command"),
    ],
)
def test_errors_say_what_and_the_right_form(text: str, message: str) -> None:
    with pytest.raises(CommandError) as exc:
        p(text)
    assert message in str(exc.value)


def test_durations() -> None:
    assert parse_duration("1d") == 86400
    assert parse_duration("1w2d") == 9 * 86400
    assert parse_duration("90m") == 5400


@given(st.text(min_size=1, max_size=80), st.text(max_size=200))
def test_topics_are_short_stable_and_distinct(host: str, service: str) -> None:
    topic = topic_for(host, service)
    assert len(topic) <= TOPIC_MAX
    assert topic == topic_for(host, service)
    if len(f"{host} / {service}") > TOPIC_MAX:
        assert topic != topic_for(host, service + "x")


def test_short_topic_is_plain() -> None:
    assert topic_for("db1", "Disk /var") == "db1 / Disk /var"
    assert topic_for("db1", "") == "db1"
