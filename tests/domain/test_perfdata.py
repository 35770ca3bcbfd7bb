"""Perfdata parsing/formatting, threshold ranges and plugin output splitting."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lookout.domain.metrics import Metric
from lookout.domain.perfdata import Range, format_perfdata, parse_perfdata, split_plugin_output
from lookout.errors import PerfdataError, ValidationError

# Real output of Debian's monitoring-plugins-basic (reference doc §2 "Plugin output format").
GOLDEN = [
    (
        "LOAD OK - total load average: 1.18, 1.66, 0.98|load1=1.180;5.000;10.000;0; "
        "load5=1.660;4.000;8.000;0; load15=0.980;3.000;6.000;0; ",
        "LOAD OK - total load average: 1.18, 1.66, 0.98",
        (
            Metric("load1", 1.18, "", 5.0, 10.0, 0.0),
            Metric("load5", 1.66, "", 4.0, 8.0, 0.0),
            Metric("load15", 0.98, "", 3.0, 6.0, 0.0),
        ),
    ),
    (
        "DISK OK - free space: / 80342MiB (77% inode=97%);| "
        "/=24698159104B;216442024755;243497277849;0;270552530944",
        "DISK OK - free space: / 80342MiB (77% inode=97%);",
        (Metric("/", 24698159104.0, "B", 216442024755.0, 243497277849.0, 0.0, 270552530944.0),),
    ),
    (
        "PROCS OK: 80 processes | procs=80;150;200;0;",
        "PROCS OK: 80 processes",
        (Metric("procs", 80.0, "", 150.0, 200.0, 0.0),),
    ),
    (
        "SWAP CRITICAL - 0% free (0MB out of 0MB) - Swap is either disabled, not present, "
        "or of zero size. |swap=0B;0;0;0;0",
        "SWAP CRITICAL - 0% free (0MB out of 0MB) - Swap is either disabled, not present, "
        "or of zero size.",
        (Metric("swap", 0.0, "B", 0.0, 0.0, 0.0, 0.0),),
    ),
    (
        "USERS OK - 0 users currently logged in |users=0;5;10;0",
        "USERS OK - 0 users currently logged in",
        (Metric("users", 0.0, "", 5.0, 10.0, 0.0),),
    ),
]


@pytest.mark.parametrize(("output", "summary", "metrics"), GOLDEN)
def test_golden_plugin_output(output: str, summary: str, metrics: tuple[Metric, ...]) -> None:
    got_summary, long_output, perfdata = split_plugin_output(output)
    assert (got_summary, long_output) == (summary, "")
    assert parse_perfdata(perfdata) == metrics


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ()),
        ("   \t\n", ()),
        ("a=1", (Metric("a", 1.0),)),
        ("a=1;;;;", (Metric("a", 1.0),)),
        ("a=1;;;;;", (Metric("a", 1.0),)),
        ("a=1;2", (Metric("a", 1.0, warn=2.0),)),
        ("a=1;;3;;5", (Metric("a", 1.0, crit=3.0, max=5.0),)),
        ("a=-1.5e3ms;+2E-1;.5;-1.;1e+2", (Metric("a", -1500.0, "ms", 0.2, 0.5, -1.0, 100.0),)),
        ("a=U;1;2 b=2", (Metric("b", 2.0),)),
        ("'a b'=1", (Metric("a b", 1.0),)),
        ("'it''s'=1", (Metric("it's", 1.0),)),
        ("'''x'''=1", (Metric("'x'", 1.0),)),
        ("'a=b'=1", (Metric("a=b", 1.0),)),
        ("it's=1", (Metric("it's", 1.0),)),
        ("'a b'=1  c=2\t'd'=3", (Metric("a b", 1.0), Metric("c", 2.0), Metric("d", 3.0))),
        ("t=0.5s;;;0s;10s", (Metric("t", 0.5, "s", min=0.0, max=10.0),)),
        ("a=10;10:;~:20", (Metric("a", 10.0, warn=10.0, crit=20.0),)),
        ("a=10;@10:20;~:", (Metric("a", 10.0, warn=20.0),)),
        ("a=10;-5;-1", (Metric("a", 10.0, warn=-5.0, crit=-1.0),)),
    ],
)
def test_parse_cases(text: str, expected: tuple[Metric, ...]) -> None:
    assert parse_perfdata(text) == expected


@pytest.mark.parametrize(
    "unit", ["", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "KiB", "MiB", "c"]
)
def test_units_are_kept_as_given(unit: str) -> None:
    assert parse_perfdata(f"m=12.5{unit};1;2;0;100") == (
        Metric("m", 12.5, unit, 1.0, 2.0, 0.0, 100.0),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("load1=abc", "metric 'load1': value 'abc' is not a number"),
        ("load1=", "metric 'load1': value is missing"),
        ("a=1,5", "metric 'a': value '1,5' is not a number"),
        ("a=1.2.3", "metric 'a': value '1.2.3' is not a number"),
        ("a=nan", "metric 'a': value 'nan' is not a number"),
        ("a=inf", "metric 'a': value 'inf' is not a number"),
        ("a=1e999", "metric 'a': value '1e999' is not a number"),
        ("a=1_000", "metric 'a': value '1_000' is not a number"),
        ("a=1;x", "metric 'a': warn 'x' is not a number or a valid range"),
        ("a=1;;20:10", "metric 'a': crit '20:10' is not a number or a valid range"),
        ("a=1;;;zero", "metric 'a': min 'zero' is not a number"),
        ("a=1s;;;;10ms", "metric 'a': max '10ms' is not a number"),
        ("a=1;2;3;4;5;6", "metric 'a': 6 ';'-separated fields, expected at most 5"),
        ("load1", "token 'load1': no '=' after the label"),
        ("a=1 junk b=2", "token 'junk': no '=' after the label"),
        ("=1", "token '=1': label is missing"),
        ("''=1", "metric '': label is empty"),
        ("'a b=1", "label quote is not closed"),
        ("x=1 'a b'c=1", "token \"'a b'c=1\": no '=' after the quoted label"),
    ],
)
def test_parse_errors_name_token_and_expectation(text: str, message: str) -> None:
    with pytest.raises(PerfdataError) as info:
        parse_perfdata(text)
    assert message in str(info.value)
    assert isinstance(info.value, ValidationError)
    assert info.value.loc == ()


@pytest.mark.parametrize(
    ("text", "value", "alerts"),
    [
        ("10", -0.1, True),
        ("10", 0.0, False),
        ("10", 10.0, False),
        ("10", 10.1, True),
        ("10:", 9.9, True),
        ("10:", 10.0, False),
        ("10:", 1e300, False),
        ("~:10", -1e300, False),
        ("~:10", 10.0, False),
        ("~:10", 10.1, True),
        ("10:20", 9.9, True),
        ("10:20", 10.0, False),
        ("10:20", 20.0, False),
        ("10:20", 20.1, True),
        ("@10:20", 9.9, False),
        ("@10:20", 10.0, True),
        ("@10:20", 15.0, True),
        ("@10:20", 20.0, True),
        ("@10:20", 20.1, False),
        ("@~:0", -5.0, True),
        ("@~:0", 0.5, False),
    ],
)
def test_range_semantics(text: str, value: float, alerts: bool) -> None:
    assert Range.parse(text).alerts(value) is alerts


@pytest.mark.parametrize(
    ("text", "parsed", "canonical"),
    [
        ("10", Range(0.0, 10.0), "10"),
        ("0:10", Range(0.0, 10.0), "10"),
        (":10", Range(0.0, 10.0), "10"),
        ("10:", Range(10.0, math.inf), "10:"),
        ("~:10", Range(-math.inf, 10.0), "~:10"),
        ("~:", Range(-math.inf, math.inf), "~:"),
        ("10:20", Range(10.0, 20.0), "10:20"),
        ("@10:20", Range(10.0, 20.0, inside=True), "@10:20"),
        ("@5", Range(0.0, 5.0, inside=True), "@5"),
        ("-5:-1.5", Range(-5.0, -1.5), "-5:-1.5"),
        ("1e3:2E3", Range(1000.0, 2000.0), "1000:2000"),
        (" 3 ", Range(0.0, 3.0), "3"),
    ],
)
def test_range_parse_and_canonical_text(text: str, parsed: Range, canonical: str) -> None:
    assert Range.parse(text) == parsed
    assert str(parsed) == canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is malformed: expected '[@]start:end'"),
        ("@", "is malformed"),
        ("~", "is malformed"),
        ("abc", "is malformed"),
        ("10:~", "is malformed"),
        ("20:10", "start 20 is greater than end 10"),
        ("1e999", "1e999 is too large"),
    ],
)
def test_range_errors(text: str, message: str) -> None:
    with pytest.raises(PerfdataError) as info:
        Range.parse(text)
    assert message in str(info.value)
    assert repr(text) in str(info.value)


def test_range_constructor_rejects_reversed_bounds() -> None:
    with pytest.raises(PerfdataError):
        Range(5.0, 1.0)


finite = st.floats(allow_nan=False, allow_infinity=False)
bounds = st.one_of(finite, st.just(math.inf), st.just(-math.inf))


@given(bounds, bounds, st.booleans())
def test_range_text_round_trip(a: float, b: float, inside: bool) -> None:
    start, end = min(a, b), max(a, b)
    if start == math.inf or end == -math.inf:
        return  # not expressible: start must be a number or ~, end a number or open
    rng = Range(start, end, inside)
    assert Range.parse(str(rng)) == rng


def test_format_quotes_labels_when_needed() -> None:
    metrics = (
        Metric("load1", 1.0, "", 5.0, 10.0, 0.0),
        Metric("a b", 2.5, "%"),
        Metric("it's", 3.0, max=4.0),
        Metric("'q", 1e20, "B"),
        Metric("x=y", -0.001, "s"),
    )
    text = format_perfdata(metrics)
    assert text == "load1=1;5;10;0 'a b'=2.5% it's=3;;;;4 '''q'=1e+20B 'x=y'=-0.001s"
    assert parse_perfdata(text) == metrics


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        (Metric("", 1.0), "label is empty"),
        (Metric("a", math.nan), "value nan is not a finite number"),
        (Metric("a", 1.0, warn=math.inf), "warn inf is not a finite number"),
        (Metric("a", 1.0, "e5"), "unit 'e5' cannot be written"),
        (Metric("a", 1.0, "k b"), "unit 'k b' cannot be written"),
    ],
)
def test_format_errors(metric: Metric, message: str) -> None:
    with pytest.raises(PerfdataError) as info:
        format_perfdata([metric])
    assert message in str(info.value)


UNITS = ["", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "KiB", "c"]
labels = st.text(min_size=1).filter(lambda label: "=" not in label)
optional = st.none() | finite
metrics_strategy = st.builds(
    Metric, labels, finite, st.sampled_from(UNITS), optional, optional, optional, optional
)


@given(st.lists(metrics_strategy, max_size=5))
def test_format_parse_round_trip(metrics: list[Metric]) -> None:
    assert parse_perfdata(format_perfdata(metrics)) == tuple(metrics)


@given(st.lists(st.builds(Metric, st.text(min_size=1), finite), max_size=3))
def test_round_trip_with_any_label_text(metrics: list[Metric]) -> None:
    assert parse_perfdata(format_perfdata(metrics)) == tuple(metrics)


@given(st.text(alphabet="ab =;'@:~-.1eU% \t", max_size=40) | st.text())
def test_parse_fails_only_with_perfdata_error(text: str) -> None:
    try:
        metrics = parse_perfdata(text)
    except PerfdataError:
        return
    assert all(isinstance(metric, Metric) and metric.name for metric in metrics)


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("", ("", "", "")),
        ("OK", ("OK", "", "")),
        ("OK - fine | a=1", ("OK - fine", "", "a=1")),
        ("OK\nline 2\nline 3\n", ("OK", "line 2\nline 3", "")),
        (
            "line1 | perf1\nlong text\nlast long text line | perf2\nperf3",
            ("line1", "long text\nlast long text line", "perf1 perf2 perf3"),
        ),
        ("OK\nmore\n| b=2\nc=3", ("OK", "more", "b=2 c=3")),
        ("OK | a=1\n| b=2", ("OK", "", "a=1 b=2")),
        ("OK\r\n  indented\r\nlast | b=2\r\n", ("OK", "  indented\nlast", "b=2")),
        ("WARN | a=1\nno perf here\n", ("WARN", "no perf here", "a=1")),
    ],
)
def test_split_plugin_output(output: str, expected: tuple[str, str, str]) -> None:
    assert split_plugin_output(output) == expected


def test_split_then_parse_multi_line() -> None:
    output = "DISK OK | /=1B;2;3\n/ 80%\n/home 20% | /home=5B;;;0;10\n'/mnt/a b'=7B"
    summary, long_output, perfdata = split_plugin_output(output)
    assert (summary, long_output) == ("DISK OK", "/ 80%\n/home 20%")
    assert parse_perfdata(perfdata) == (
        Metric("/", 1.0, "B", 2.0, 3.0),
        Metric("/home", 5.0, "B", min=0.0, max=10.0),
        Metric("/mnt/a b", 7.0, "B"),
    )
