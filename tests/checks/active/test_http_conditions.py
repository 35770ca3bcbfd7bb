"""HTTP body conditions (JSON path, regex) and phase timings, against real local servers."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pydantic import ValidationError

from lookout.checks.active import CheckContext
from lookout.checks.active.http import BodyCondition, HttpParams, judge_conditions, run

pytestmark = pytest.mark.integration


def _params(url: str, *conditions: dict[str, Any]) -> HttpParams:
    return HttpParams.model_validate({"url": url, "conditions": list(conditions)})


async def test_all_conditions_hold(check_context: CheckContext, http_base: str) -> None:
    params = _params(
        f"{http_base}/json",
        {"json": "$.status", "equals": "ok"},
        {"json": "$.count", "equals": 3},
        {"json": "$.ready", "equals": True},
        {"json": "$.version", "matches": r"^2\."},
        {"json": "$.checks[?(@.name == 'db')].up", "equals": True},
        {"json": "$.checks[*].name"},
        {"matches": '"status": "ok"'},
        {"not_matches": "(?i)exception"},
    )

    outcome = await run(params, "unused", check_context)

    assert outcome.state == 0, outcome.summary
    assert outcome.summary.startswith("HTTP OK - 200 OK - ")


@pytest.mark.parametrize(
    ("condition", "note"),
    [
        ({"json": "$.status", "equals": "down"}, "$.status is 'ok', expected 'down'"),
        ({"json": "$.count", "equals": "3"}, "$.count is 3, expected '3'"),
        ({"json": "$.ready", "equals": 1}, "$.ready is true, expected 1"),
        ({"json": "$.missing"}, "$.missing not found"),
        (
            {"json": "$.checks[*].up", "equals": None},
            "$.checks[*].up is true, false, expected null",
        ),
        ({"json": "$.version", "matches": "^3"}, "$.version is '2.1.0', does not match '^3'"),
        (
            {"json": "$.checks[*].name", "not_matches": "^cache$"},
            "$.checks[*].name is 'db', 'cache', matches '^cache$'",
        ),
        ({"matches": "healthy"}, "body does not match 'healthy'"),
        ({"not_matches": "cache"}, "body matches 'cache'"),
    ],
)
async def test_a_failed_condition_is_critical_and_named(
    check_context: CheckContext, http_base: str, condition: dict[str, Any], note: str
) -> None:
    outcome = await run(_params(f"{http_base}/json", condition), "unused", check_context)

    assert outcome.state == 2
    assert outcome.summary.startswith(f"HTTP CRITICAL - 200 OK - {note} - "), outcome.summary


async def test_json_conditions_on_a_text_body(check_context: CheckContext, http_base: str) -> None:
    params = _params(f"{http_base}/ok", {"json": "$.status", "equals": "ok"})

    outcome = await run(params, "unused", check_context)

    assert outcome.state == 2
    assert "200 OK - body is not JSON - " in outcome.summary


async def test_phase_timings_over_https(check_context: CheckContext, https_base: str) -> None:
    params = HttpParams(url=f"{https_base}/ok", verify_tls=False)

    outcome = await run(params, "unused", check_context)

    assert outcome.state == 0, outcome.summary
    phases = {m.name: m for m in outcome.metrics[2:]}
    assert list(phases) == ["time_connect", "time_tls", "time_firstbyte"]
    assert all(m.unit == "s" and 0 <= m.value < 5 for m in phases.values())
    assert phases["time_firstbyte"].value >= phases["time_connect"].value


async def test_phase_timings_of_a_failed_connection_are_absent(
    check_context: CheckContext, refused_port: int
) -> None:
    outcome = await run(HttpParams(url=f"http://127.0.0.1:{refused_port}/"), "x", check_context)

    assert outcome.state == 2
    assert outcome.metrics == ()


def test_conditions_without_any_keep_the_old_behaviour() -> None:
    assert HttpParams().conditions == ()
    assert judge_conditions((), "anything") == (0, [])


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({}, "needs json"),
        ({"equals": "ok"}, "needs json"),
        ({"json": "$.a", "equals": 1, "matches": "x"}, "use one of equals, matches, not_matches"),
        ({"json": "$.[", "equals": 1}, "does not parse"),
        ({"matches": "("}, "matches '\\(' is no regex"),
        ({"json": "$.a", "bogus": 1}, "Extra inputs are not permitted"),
    ],
)
def test_bad_conditions_are_refused(condition: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        BodyCondition.model_validate(condition)


def test_a_regex_that_backtracks_forever_gives_up_in_time_and_says_so() -> None:
    body = "x" * 5000  # (x+x+)+y backtracks exponentially on a run of x without a y
    started = time.perf_counter()
    state, notes = judge_conditions(
        (
            BodyCondition.model_validate({"matches": "(x+x+)+y"}),
            BodyCondition.model_validate({"matches": "^x+$"}),
        ),
        body,
    )
    took = time.perf_counter() - started
    assert state == 2
    assert notes == ["regex '(x+x+)+y' gave up after 0.1 s"]
    assert took < 5  # the limit is checked while searching: well under a busy machine's 5 s
