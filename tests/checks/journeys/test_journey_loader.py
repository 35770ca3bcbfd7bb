"""Journey files: what is accepted, and malformed ones named by file, line, step and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from lookout.checks.journeys.loader import JourneyFileError, load_file, load_text


def problems(text: str) -> list[str]:
    with pytest.raises(JourneyFileError) as info:
        load_text(text, "j.yaml")
    return info.value.problems


def test_a_full_journey_loads() -> None:
    j = load_text(
        """
name: Shop
host: shop.example.org
timeout: 5
variables: {base: "https://shop.example.org"}
steps:
  - name: log in
    request: {method: post, url: "${base}/login", form: {user: a}}
    expect: {status: [200, 302], response_time: 2, json: {$.ok: true}}
    extract: {token: {json: $.token}, sid: {cookie: session}}
  - name: browse
    browser:
      - goto: ${base}/
      - expect_text: Welcome
    timeout: 30
"""
    )
    assert j.steps[0].request is not None
    assert j.steps[0].request.method == "POST"
    assert j.steps[0].expect.time_levels is not None
    assert j.steps[0].expect.time_levels.crit == 2
    assert j.steps[0].expect.json_path == {"$.ok": True}
    assert j.steps[0].extract["token"].kind == "json"
    assert j.steps[1].browser is not None
    assert j.steps[1].browser[1].kind == "expect_text"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "name: x\nsteps:\n  - name: a\n    request:\n      method: GET\n",
            "j.yaml:4: step 1 'a' → request.url: Field required",
        ),
        (
            "name: x\nsteps:\n  - name: a\n    request: {url: u}\n    expect: {stauts: 200}\n",
            "j.yaml:5: step 1 'a' → expect.stauts: Extra inputs are not permitted",
        ),
        (
            "name: x\nsteps:\n  - name: a\n    request: {url: u}\n  - name: b\n",
            "j.yaml:5: step 2 'b': a step has either request (HTTP) or browser",
        ),
        (
            "name: x\nsteps:\n  - name: a\n    browser:\n      - goto: u\n      - click: b\n"
            "        fill: {selector: s, value: v}\n",
            "j.yaml:6: step 1 'a' → browser #2: each browser action has exactly one of goto,",
        ),
        (
            "name: x\nsteps:\n  - name: a\n    request: {url: u}\n    extract:\n"
            "      t: {json: $.a, regex: x}\n",
            "j.yaml:6: step 1 'a' → extract.t: give exactly one of json, regex, header, cookie "
            "(got json, regex)",
        ),
        (
            "name: x\nsteps:\n  - name: a\n    request: {url: u}\n    expect: {body_regex: '('}\n",
            "j.yaml:5: step 1 'a' → expect.body_regex: regex '(' does not compile",
        ),
        (
            "name: x\nsteps:\n  - name: a\n    request: {url: u}\n    expect:\n"
            "      response_time: {warn: 3, crit: 1}\n",
            "j.yaml:6: step 1 'a' → expect.response_time: warn (3 s) is above crit (1 s)",
        ),
        (
            "name: x\nsteps:\n  - name: a\n    request: {url: u, status: 200}\n",
            "j.yaml:4: step 1 'a' → request.status: Extra inputs are not permitted",
        ),
        ("name: x\nsteps: []\n", "j.yaml:2: steps: List should have at least 1 item"),
        ("steps:\n  - name: a\n    request: {url: u}\n", "j.yaml:1: name: Field required"),
        (
            "name: x\nsteps:\n  - name: a\n    request: {url: u}\n  - name: a\n"
            "    request: {url: u}\n",
            "j.yaml:1: two steps are named 'a'",
        ),
        ("name: x\nsteps:\n  - name: [a\n", "j.yaml:4: YAML does not parse"),
        ("", "j.yaml: the file is empty"),
        ("- a\n- b\n", "j.yaml:1: expected a mapping with name and steps"),
        (
            "name: x\nsteps:\n  - name: a\n    request: {url: u}\n    extract: {2x: {cookie: c}}\n",
            "j.yaml:3: step 1 'a': variable name '2x': use letters, digits and _",
        ),
        (
            "name: x\nsteps:\n  - name: a\n    request: {url: u}\n    extract:\n"
            "      t: {json: '$.a[x]'}\n",
            "j.yaml:6: step 1 'a' → extract.t: JSON path '$.a[x]': cannot read",
        ),
    ],
)
def test_malformed_journeys_name_line_step_and_field(text: str, problem: str) -> None:
    found = problems(text)
    assert any(p.startswith(problem) for p in found), found


def test_an_unreadable_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(JourneyFileError) as info:
        load_file(tmp_path / "missing.yaml")
    assert info.value.problems[0].startswith("cannot read it:")
    assert str(tmp_path / "missing.yaml") in str(info.value)


def test_every_problem_is_reported_together() -> None:
    found = problems("name: x\nsteps:\n  - name: a\n  - name: b\n    request: {}\n")
    assert len(found) == 2, found
