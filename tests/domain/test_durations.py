"""The one duration grammar: what it reads, what it refuses (and says), and its formatter."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lookout.domain.durations import EXAMPLES, format_duration, parse_duration
from lookout.domain.values import DURATION_MAX, InvalidValue


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("15m", 900),
        ("2h30m", 9000),
        ("1d", 86400),
        ("1w", 604800),
        ("1w2d3h4m5s", 788645),
        ("2h 30m", 9000),
        (" 2H ", 7200),
        ("90m", 5400),
        ("5228w4d", DURATION_MAX),
    ],
)
def test_reads_the_grammar(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    ["", " ", "2", "h", "2x", "1.5h", "-1h", "30m2h", "1h1h", "2h-30m", "٣h", "1 h 1"],
)
def test_refuses_other_text_naming_it_and_showing_examples(text: str) -> None:
    with pytest.raises(InvalidValue) as exc:
        parse_duration(text)
    assert f"{text!r} is not a duration" in str(exc.value)
    assert EXAMPLES in str(exc.value)


def test_refuses_zero_and_more_than_100_years() -> None:
    with pytest.raises(InvalidValue, match="more than zero"):
        parse_duration("0s")
    with pytest.raises(InvalidValue, match="at most 100 years"):
        parse_duration("5228w4d1s")
    with pytest.raises(InvalidValue, match="not a duration"):
        parse_duration("9" * 5000 + "h")


def test_plain_seconds_only_where_asked() -> None:
    assert parse_duration("90", plain_seconds=True) == 90
    assert parse_duration("5m", plain_seconds=True) == 300
    with pytest.raises(InvalidValue, match="plain seconds"):
        parse_duration("soon", plain_seconds=True)
    with pytest.raises(InvalidValue, match="more than zero"):
        parse_duration("0", plain_seconds=True)
    with pytest.raises(InvalidValue, match="not a duration"):
        parse_duration("90")


def test_errors_carry_the_location() -> None:
    with pytest.raises(InvalidValue) as exc:
        parse_duration("x", loc=("duration",))
    assert exc.value.loc == ("duration",)


@given(st.integers(min_value=1, max_value=int(DURATION_MAX)))
def test_format_then_parse_gives_the_same_seconds(seconds: int) -> None:
    text = format_duration(seconds)
    assert parse_duration(text) == seconds


@given(st.integers(min_value=1, max_value=int(DURATION_MAX)), st.integers(1, 4))
def test_a_rough_format_keeps_the_largest_units(seconds: int, parts: int) -> None:
    rough = parse_duration(format_duration(seconds, parts=parts))
    assert rough <= seconds
    assert format_duration(seconds).startswith(format_duration(seconds, parts=parts))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(90, "1m30s"), (9000, "2h30m"), (604800, "1w"), (0, "0s"), (-120, "2m"), (59.9, "59s")],
)
def test_formats_with_the_largest_units(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
