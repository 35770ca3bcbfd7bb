"""Local-check lines: the familiar form, lenient variants, and odd input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lookout_agent import wire as w

from lookout.checks.agent import local
from lookout.checks.agent.api import Context, ValueStore


def test_the_familiar_form() -> None:
    line = local.parse_line('0 "My service" count=3;5;10;0;100|time=0.5s all fine')
    assert isinstance(line, local.LocalLine)
    assert (line.name, line.state, line.summary) == ("My service", 0, "all fine")
    assert [(m.name, m.value, m.unit, m.warn, m.crit, m.min, m.max) for m in line.metrics] == [
        ("count", 3.0, "", 5.0, 10.0, 0.0, 100.0),
        ("time", 0.5, "s", None, None, None, None),
    ]


@pytest.mark.parametrize(
    ("raw", "name", "state", "summary"),
    [
        ("2 Backup - last run failed", "Backup", 2, "last run failed"),
        ("crit   Backup   -   spaces everywhere  ", "Backup", 2, "spaces everywhere"),
        ('WARNING "Queue  depth" -', "Queue depth", 1, ""),
        ("UNKNOWN Thing", "Thing", 3, ""),
        ("ok x - summary\\nand details", "x", 0, "summary"),
    ],
)
def test_lenient_variants(raw: str, name: str, state: int, summary: str) -> None:
    line = local.parse_line(raw)
    assert isinstance(line, local.LocalLine), line
    assert (line.name, line.state, line.summary) == (name, state, summary)


def test_computed_state_from_metric_levels() -> None:
    line = local.parse_line("P Queue depth=12;10;20 growing")
    assert isinstance(line, local.LocalLine)
    assert line.state == 1
    line = local.parse_line("P Queue depth=25;10;20")
    assert isinstance(line, local.LocalLine)
    assert line.state == 2


def test_bad_metric_is_dropped_with_a_note() -> None:
    line = local.parse_line("0 svc ok=1|=nonsense|bad=abc fine")
    assert isinstance(line, local.LocalLine)
    assert [m.name for m in line.metrics] == ["ok"]
    assert len(line.notes) == 2


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("garbage line", "state"),
        ("5 svc - nope", "state"),
        ('0 "unterminated - x', "closing quote"),
        ('0 "" - empty name', "no service name"),
        ("0", "no service name"),
        ("0 " + "x" * 300, "longer than"),
    ],
)
def test_malformed_lines(raw: str, reason: str) -> None:
    bad = local.parse_line(raw)
    assert isinstance(bad, local.Malformed)
    assert reason in bad.reason


def test_malformed_lines_make_local_checks_unknown_quoting_the_line() -> None:
    s = w.Sections(local=w.LocalSection(["0 good - fine", "what is this"], ["x.sh: timed out"]))
    assert local.discover_lines(s) == ["good"]
    out = local.check_summary(Context("", 0, ValueStore()), local.NoParams(), s)
    assert out.state == 3
    assert "what is this" in out.summary
    assert "timed out" in out.details


def test_duplicate_names_are_reported() -> None:
    good, bad = local.parse(["0 a - one", "1 a - two"])
    assert list(good) == ["a"]
    assert "twice" in bad[0].reason


@given(st.text(max_size=300))
def test_any_line_parses_or_is_reported(raw: str) -> None:
    parsed = local.parse_line(raw)
    if isinstance(parsed, local.LocalLine):
        assert parsed.name
        assert parsed.state in (0, 1, 2, 3)
    else:
        assert parsed.reason


@given(
    st.sampled_from(["0", "1", "2", "3", "OK", "crit", "P"]),
    st.text(
        alphabet=st.characters(blacklist_characters='"', blacklist_categories=("Cc", "Cs")),
        min_size=1,
        max_size=40,
    ),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=60).map(lambda t: t.replace("\n", " ")),
)
def test_generated_good_lines_round_trip(state: str, name: str, value: float, summary: str) -> None:
    if not name.strip():
        return
    raw = f'{state} "{name}" m={value!r} {summary}'
    line = local.parse_line(raw)
    assert isinstance(line, local.LocalLine), (raw, line)
    assert line.name == " ".join(name.split())
    assert line.metrics[0].value == pytest.approx(value)
