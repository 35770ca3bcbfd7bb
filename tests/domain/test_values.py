"""The value rules every door shares (domain/values.py)."""

from __future__ import annotations

import math

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lookout.domain import values
from lookout.domain.metrics import Metric
from lookout.domain.values import InvalidValue


@pytest.mark.parametrize(
    "bad", [math.nan, math.inf, -math.inf, -1.0, values.TIME_MAX + 1, 1e308, -1e-300]
)
def test_times_out_of_range_are_refused(bad: float) -> None:
    with pytest.raises(InvalidValue, match="1970-01-01 and 9999-12-31"):
        values.check_time(bad, ("end",))


@pytest.mark.parametrize("good", [0.0, 1.7e9, values.TIME_MAX])
def test_times_in_range_pass(good: float) -> None:
    assert values.check_time(good) == good
    assert values.is_time(good)


def test_is_time_says_no_to_what_pages_cannot_show() -> None:
    assert not values.is_time(1e308)
    assert not values.is_time(math.nan)


@pytest.mark.parametrize(
    ("text", "why"),
    [("a\x00b", "NUL"), ("a\ud800", "surrogate")],
)
def test_unstorable_text_is_refused(text: str, why: str) -> None:
    with pytest.raises(InvalidValue, match=why):
        values.check_text(text)


def test_text_length_is_bounded_and_named() -> None:
    with pytest.raises(InvalidValue, match="longer than 3 characters") as exc:
        values.check_text("abcd", 3, ("summary",))
    assert exc.value.loc == ("summary",)


@pytest.mark.parametrize(
    ("name", "host", "why"),
    [
        (".", True, "URLs cannot address it"),
        ("..", False, "URLs cannot address it"),
        (" web", True, "white space"),
        ("web\t", False, "control characters"),
        ("-web", True, "read it as an option"),
        ("a/b", True, "'/'"),
        ("", True, "1 to 255"),
        ("x" * 256, False, "1 to 255"),
    ],
)
def test_names_the_product_cannot_address(name: str, host: bool, why: str) -> None:
    problem = values.name_problem(name, host=host)
    assert problem is not None
    assert why in problem


@pytest.mark.parametrize("name", ["web-01", "Filesystem /var", "a.b", "-x"])
def test_ordinary_service_names_pass(name: str) -> None:
    assert values.name_problem(name, host=False) is None


def test_tree_walk_names_the_path() -> None:
    with pytest.raises(InvalidValue) as exc:
        values.check_tree({"check": {"headers": [{"x": "a\x00"}]}})
    assert exc.value.loc == ("check", "headers", 0, "x")
    with pytest.raises(InvalidValue, match="finite"):
        values.check_tree({"a": [math.nan]})
    deep: object = 1
    for _ in range(40):
        deep = [deep]
    with pytest.raises(InvalidValue, match="nested"):
        values.check_tree({"a": deep})


def test_durations_are_bounded() -> None:
    assert values.check_duration(3600) == 3600
    for bad in (0.0, -1.0, math.nan, 101 * 366 * 86400.0):
        with pytest.raises(InvalidValue):
            values.check_duration(bad)
    assert values.check_duration(0.0, allow_zero=True) == 0.0


numbers = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([1e300, 1e301])
texts = st.text(max_size=5) | st.sampled_from(["a\x00", "x" * 300])
metrics = st.builds(
    Metric,
    name=texts,
    value=numbers,
    unit=texts,
    warn=st.none() | numbers,
    crit=st.none() | numbers,
    min=st.none() | numbers,
    max=st.none() | numbers,
)
_decode = msgspec.json.Decoder(tuple[Metric, ...])


@given(st.lists(metrics, max_size=4).map(tuple))
def test_the_fast_metric_test_agrees_with_the_full_one(ms: tuple[Metric, ...]) -> None:
    """What a client sends (JSON), decoded with the constraints and then the fast test, is
    accepted exactly when the full test accepts what was decoded. JSON has no NaN or
    infinities (they become null): a null value fails the decoder, which the full test of the
    sent metrics refuses too; a null level (warn, crit, min, max) just means none."""
    body = msgspec.json.encode(ms)
    try:
        decoded = _decode.decode(body)
    except msgspec.ValidationError:
        assert not _accepted(ms)
        return
    assert values.decoded_metrics_ok(decoded) is _accepted(decoded)
    if all(math.isfinite(x) for m in ms for x in _numbers(m)):
        assert _accepted(decoded) is _accepted(ms)


def _accepted(ms: tuple[Metric, ...]) -> bool:
    try:
        values.check_metrics(ms)
    except InvalidValue:
        return False
    return True


def _numbers(m: Metric) -> list[float]:
    return [x for x in (m.value, m.warn, m.crit, m.min, m.max) if x is not None]
