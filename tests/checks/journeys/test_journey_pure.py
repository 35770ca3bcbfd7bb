"""The pure parts of journeys: substitution, JSON paths, assertions, the report."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lookout.checks.journeys.evaluate import Response, check, extract
from lookout.checks.journeys.jsonpath import MISSING, PathError, lookup, parse_path
from lookout.checks.journeys.model import Expect, Extract
from lookout.checks.journeys.report import StepOutcome, metric_name, summarize
from lookout.checks.journeys.template import UndefinedVariable, render, render_tree


def test_render_variables_env_and_escape() -> None:
    assert render("${a}/${env:HOME_X}/$${a}", {"a": "1"}, {"HOME_X": "h"}) == "1/h/${a}"
    assert render_tree({"k${a}": ["${a}", 2, None]}, {"a": "x"}, {}) == {"kx": ["x", 2, None]}
    with pytest.raises(UndefinedVariable, match=r"\$\{b\} is not defined \(defined so far: a\)"):
        render("${b}", {"a": "1"}, {})


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("$", ()),
        ("$.a.b", ("a", "b")),
        ("a.b", ("a", "b")),
        ("$.items[0]['the id']", ("items", 0, "the id")),
        ('$["x.y"][-1]', ("x.y", -1)),
        ("$['a\nb']", ("a\nb",)),
    ],
)
def test_json_paths(path: str, parts: tuple[str | int, ...]) -> None:
    assert parse_path(path) == parts


def test_json_path_lookup_and_errors() -> None:
    doc = {"items": [{"id": 1}, {"id": 2}]}
    assert lookup(doc, parse_path("$.items[-1].id")) == 2
    assert lookup(doc, parse_path("$.items[5]")) is MISSING
    assert lookup(doc, parse_path("$.items.id")) is MISSING
    with pytest.raises(PathError):
        parse_path("$.items[x]")


def response(status: int = 200, text: str = "", seconds: float = 0.1) -> Response:
    return Response(status, {"x-a": "b"}, text, seconds, {"sid": "s1"})


def test_checks_and_extraction() -> None:
    ok = check(
        Expect.model_validate({"json": {"$.n": 1, "$.t": True}}),
        response(text='{"n": 1.0, "t": true}'),
    )
    assert ok.state == 0
    one_is_not_true = check(
        Expect.model_validate({"json": {"$.t": True}}), response(text='{"t": 1}')
    )
    assert one_is_not_true.reason == "JSON $.t is 1, expected true"
    assert check(Expect(), response(404)).reason == "status 404 (expected below 400)"
    assert (
        extract("v", Extract.model_validate({"json": "$.o"}), response(text='{"o": {"a": 1}}'))
        == '{"a": 1}'
    )
    assert extract("v", Extract(regex=r"id=(?P<id>\d+)", group="id"), response(text="id=7")) == "7"
    assert extract("v", Extract(header="X-A"), response()) == "b"
    assert extract("v", Extract(cookie="sid"), response()) == "s1"


def test_summary_long_output_and_metrics() -> None:
    steps = [
        StepOutcome(1, "Log in!", "http", 0, 0.25, detail="POST https://x/login → 302"),
        StepOutcome(2, "API", "http", 2, 0.5, reason="status 500, expected 200", crit=2.0),
        StepOutcome(3, "Log out", "http", None),
    ]
    r = summarize("Shop", steps, 0.8)
    assert r.state == 2
    assert r.summary == "Shop: CRIT at step 2 'API': status 500, expected 200; 1 step skipped"
    assert r.long_output.splitlines() == [
        "✔ 1. Log in! (http, 0.250 s) [POST https://x/login → 302]",
        "✘ 2. API (http, 0.500 s): status 500, expected 200",
        "– 3. Log out: skipped",
    ]
    assert [m.name for m in r.metrics] == ["step_1_log_in", "step_2_api", "total"]
    assert r.metrics[1].crit == 2.0
    assert r.plugin_output().splitlines()[0] == (
        "Shop: CRIT at step 2 'API': status 500, expected 200; 1 step skipped | "
        "step_1_log_in=0.25s;;;0 step_2_api=0.5s;;2;0 total=0.8s;;;0"
    )
    assert metric_name(3, "!!!") == "step_3"


def test_texts_stay_within_what_a_site_stores() -> None:
    steps = [StepOutcome(1, "a", "http", 2, 0.1, reason="x" * 10_000)]
    r = summarize("long", steps, 0.1)
    assert len(r.summary) == 4096
    assert r.summary.endswith("…")


@given(
    st.lists(
        st.one_of(
            st.integers(-1000, 1000),
            st.text(st.characters(blacklist_characters="'\"", blacklist_categories=["Cs"])),
        ),
        max_size=6,
    )
)
def test_json_path_round_trip(parts: list[str | int]) -> None:
    text = "$" + "".join(f"[{p}]" if isinstance(p, int) else f"['{p}']" for p in parts)
    assert parse_path(text) == tuple(parts)
