"""Rules: matching, suppression, recipients, validation with field paths (pure)."""

from __future__ import annotations

import datetime as dt

import pydantic
import pytest

from lookout.notify.matching import Candidate, Directory, evaluate, in_period, why_not
from lookout.notify.spec import Contact, EmailSpec, Rule, TimePeriod, WebhookSpec

MAIL = EmailSpec(host="smtp", sender="l@x.org", to=["fallback@x.org"])
HOOK = WebhookSpec(url="http://hook.example")
DIR = Directory(
    contacts={
        "ann": Contact(user="ann", groups=["dba"]),
        "bob": Contact(user="bob", groups=["dba"]),
    },
    emails={"ann": "ann@x.org", "bob": "bob@x.org"},
    channels={"mail": MAIL, "hook": HOOK},
)


def cand(**kw: object) -> Candidate:
    base: dict[str, object] = {
        "kind": "problem",
        "host": "db1",
        "service": "Disk /var",
        "state": "CRIT",
        "state_type": "hard",
        "at": 1_700_000_000.0,
    }
    return Candidate(**{**base, **kw})  # type: ignore[arg-type]


def test_defaults_only_hard_states() -> None:
    rule = Rule(name="r", channels=["hook"])
    assert why_not(rule, cand()) is None
    assert "state type soft" in (why_not(rule, cand(state_type="soft")) or "")


@pytest.mark.parametrize(
    ("field", "value", "matches"),
    [
        ("hosts", ["db*"], True),
        ("hosts", ["web*"], False),
        ("services", ["Disk *"], True),
        ("exclude_services", ["Disk *"], False),
        ("states", ["WARN"], False),
        ("labels", {"env": "prod*"}, True),
        ("labels", {"env": "test"}, False),
        ("host_groups", ["databases"], True),
        ("object_contact_groups", ["dba"], True),
        ("objects", "hosts", False),
        ("from_number", 2, False),
    ],
)
def test_matching_fields(field: str, value: object, matches: bool) -> None:
    rule = Rule.model_validate({"name": "r", "channels": ["hook"], field: value})
    c = cand(labels={"env": "production", "contact_groups": "dba, ops"}, host_groups=["databases"])
    assert (why_not(rule, c) is None) is matches


def test_contacts_groups_and_suppression() -> None:
    rules = [
        Rule(name="team", channels=["mail", "hook"], contact_groups=["dba"]),
        Rule(name="quiet-bob", action="suppress", channels=["mail"], contacts=["bob"]),
    ]
    d = evaluate(rules, cand(), DIR)
    assert sorted((p.channel, p.recipient) for p in d.planned) == [
        ("hook", "*"),
        ("mail", "ann@x.org"),
    ]
    assert d.trace[1] == ("quiet-bob", "suppressed 1 delivery(ies)")


def test_email_without_contacts_uses_channel_default() -> None:
    d = evaluate([Rule(name="r", channels=["mail"])], cand(), DIR)
    assert [p.recipient for p in d.planned] == ["fallback@x.org"]


def test_time_period_spanning_midnight() -> None:
    tz = dt.UTC
    night = TimePeriod(days=["mon"], start=dt.time(22), end=dt.time(6))
    monday_23 = dt.datetime(2026, 11, 23, 23, tzinfo=tz).timestamp()
    tuesday_05 = dt.datetime(2026, 11, 24, 5, tzinfo=tz).timestamp()
    tuesday_07 = dt.datetime(2026, 11, 24, 7, tzinfo=tz).timestamp()
    assert in_period(night, monday_23)
    assert in_period(night, tuesday_05)
    assert not in_period(night, tuesday_07)


def test_validation_names_the_field() -> None:
    with pytest.raises(pydantic.ValidationError) as exc:
        Rule.model_validate({"name": "r", "channels": ["hook"], "states": ["FATAL"]})
    assert exc.value.errors()[0]["loc"] == ("states",)
    assert "unknown state 'FATAL'" in str(exc.value)
    with pytest.raises(pydantic.ValidationError) as exc:
        Rule.model_validate({"name": "r"})
    assert "needs at least one channel" in str(exc.value)
    with pytest.raises(pydantic.ValidationError) as exc:
        Rule.model_validate(
            {"name": "r", "channels": ["x"], "time_period": {"timezone": "Mars/Olympus"}}
        )
    assert exc.value.errors()[0]["loc"] == ("time_period", "timezone")
