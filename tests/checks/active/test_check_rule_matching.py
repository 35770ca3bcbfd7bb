"""Which check rule applies to a check, and what config the check then runs with."""

from __future__ import annotations

import pydantic
import pytest

from lookout.checks.active.rules import CheckRule, Target, effective, first_match
from lookout.checks.active.tls import TlsParams


def _target(**kw: object) -> Target:
    base: dict[str, object] = {
        "host": "web-1",
        "service": "Cert",
        "check_type": "tls",
        "host_labels": {"env": "prod"},
        "service_labels": {"tier": "front"},
    }
    return Target(**(base | kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("conditions", "target", "matched"),
    [
        ({}, {}, True),
        ({"check_type": "ping"}, {}, False),
        ({"hosts": ["web-*"]}, {}, True),
        ({"hosts": ["db-*"]}, {}, False),
        ({"services": ["C*"]}, {}, True),
        ({"services": ["C*"]}, {"service": ""}, False),
        ({"host_labels": {"env": "pr*"}}, {}, True),
        ({"host_labels": {"env": "test"}}, {}, False),
        ({"host_labels": {"dc": "*"}}, {}, False),
        ({"service_labels": {"tier": "front"}}, {}, True),
        ({"objects": "hosts"}, {}, False),
        ({"objects": "hosts"}, {"service": ""}, True),
        ({"objects": "services"}, {"service": ""}, False),
    ],
)
def test_conditions(
    conditions: dict[str, object], target: dict[str, object], matched: bool
) -> None:
    rule = CheckRule.model_validate({"name": "r", "check_type": "tls", **conditions})
    assert (first_match([rule], _target(**target)) is rule) is matched


def test_the_check_wins_then_the_first_matching_rule_then_the_defaults() -> None:
    rules = [
        CheckRule(name="other", check_type="tls", hosts=["db-*"], params={"warn_days": 99}),
        CheckRule(name="first", check_type="tls", params={"warn_days": 40, "crit_days": 20}),
        CheckRule(name="second", check_type="tls", params={"port": 8443}),
    ]
    found = effective({"type": "tls", "crit_days": 7}, rules, _target())
    assert found.rule == "first"
    assert found.error is None
    assert isinstance(found.config, TlsParams)
    assert (found.config.warn_days, found.config.crit_days, found.config.port) == (40, 7, 443)


def test_params_that_do_not_fit_leave_the_check_as_given_and_say_why() -> None:
    rules = [CheckRule(name="r", check_type="tls", params={"crit_days": 20})]
    found = effective({"type": "tls", "warn_days": 10}, rules, _target())
    assert isinstance(found.config, TlsParams)
    assert (found.config.warn_days, found.config.crit_days) == (10, 14)
    assert found.error is not None
    assert "crit_days (20) must not be above warn_days (10)" in found.error


def test_params_are_validated_by_the_check_types_model() -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        CheckRule(name="r", check_type="dns", params={"record_type": "BOGUS", "nope": 1})
    locs = {e["loc"] for e in caught.value.errors()}
    assert ("params", "nope") in locs
