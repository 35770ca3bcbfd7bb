"""Nagios plugin output: perfdata parsing/formatting, threshold ranges, output splitting.

Perfdata is ``'label'=value[UOM];[warn];[crit];[min];[max]``, tokens separated by whitespace
(Monitoring Plugins Development Guidelines). ``parse_perfdata`` runs on the ingestion hot path,
so well-formed tokens take a short path (one regex match, a ``split`` and ``float`` calls);
only unusual fields (ranges, units on min/max, errors) go through the slower helpers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from lookout.domain.metrics import Metric
from lookout.errors import PerfdataError

__all__ = ["Range", "format_perfdata", "parse_perfdata", "split_plugin_output"]

_EXPECTED = "expected 'label=value[UOM];[warn];[crit];[min];[max]'"
_FIELD_NAMES = ("value", "warn", "crit", "min", "max")

# One token: a quoted label ('' escapes a quote) or a bare one, "=", then the fields.
_TOKEN = re.compile(r"\s*(?:'((?:[^']|'')*)'|([^\s='][^\s=]*))=(\S*)")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
# A value with its unit of measurement; the unit must not look like the rest of a number.
_UNIT_TEXT = r"[^\d\s;=.,_+\-][^\s;=]*"
_VALUE = re.compile(rf"({_NUMBER})({_UNIT_TEXT})?")
# Units a formatted value can carry and still read back: no exponent look-alikes ("e5").
_UNIT = re.compile(rf"(?![eE][-+]?\d){_UNIT_TEXT}")
_BARE_LABEL = re.compile(r"[^\s='][^\s=]*")
_NUMBER_END = frozenset("0123456789.")
_PAD = ("", "", "", "", "")
_NOT_PLAIN = re.compile("[nNeE_]").search
_QUOTED_TOKEN = re.compile(r"'(?:[^']|'')*'\S*")
_RANGE = re.compile(rf"(@?)(?:(~|{_NUMBER})?:)?({_NUMBER})?")


def _number(text: str) -> float | None:
    """``float(text)`` for plain finite numbers, else None (no inf/nan/underscores)."""
    try:
        number = float(text)
    except ValueError:
        return None
    if number - number != 0.0 or "_" in text:
        return None
    return number


def _fmt(number: float) -> str:
    """Shortest text that reads back as exactly ``number``."""
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


@dataclass(frozen=True, slots=True)
class Range:
    """A threshold range ``[@]start:end``: alert outside ``[start, end]``, or inside with ``@``.

    ``10`` is ``0:10``; ``10:`` has ``end = inf``; ``~:10`` has ``start = -inf``.
    """

    start: float = 0.0
    end: float = math.inf
    inside: bool = False

    def __post_init__(self) -> None:
        if not self.start <= self.end:
            raise PerfdataError(f"range start {self.start} is not <= end {self.end}")

    @classmethod
    def parse(cls, text: str) -> Range:
        """Read ``[@]start:end``; raise PerfdataError naming the text when malformed."""
        match = _RANGE.fullmatch(text.strip())
        if match is None or (match[2] is None and match[3] is None):
            raise PerfdataError(f"range {text!r} is malformed: expected '[@]start:end'")
        inside, start_text, end_text = match.groups()
        if start_text is None:
            start = 0.0
        elif start_text == "~":
            start = -math.inf
        else:
            start = _range_bound(text, start_text)
        end = math.inf if end_text is None else _range_bound(text, end_text)
        if start > end:
            raise PerfdataError(
                f"range {text!r}: start {_fmt(start)} is greater than end {_fmt(end)}"
            )
        return cls(start, end, inside == "@")

    def alerts(self, value: float) -> bool:
        """True when ``value`` should raise an alert (endpoints are inside the range)."""
        within = self.start <= value <= self.end
        return within if self.inside else not within

    @property
    def graph_value(self) -> float | None:
        """The number drawn as threshold line: the end, else the start, else None."""
        if self.end != math.inf:
            return self.end
        if self.start != -math.inf:
            return self.start
        return None

    def __str__(self) -> str:
        prefix = "@" if self.inside else ""
        end = "" if self.end == math.inf else _fmt(self.end)
        if self.start == 0.0 and end:
            return f"{prefix}{end}"
        start = "~" if self.start == -math.inf else _fmt(self.start)
        return f"{prefix}{start}:{end}"


def _range_bound(text: str, number_text: str) -> float:
    number = float(number_text)
    if math.isinf(number):
        raise PerfdataError(f"range {text!r}: {number_text} is too large")
    return number


def parse_perfdata(text: str) -> tuple[Metric, ...]:
    """Parse a perfdata string; metrics with value ``U`` (undetermined) are left out."""
    if "'" in text:
        return _parse_quoted(text)
    metrics: list[Metric] = []
    for token in text.split():
        label, equals, fields = token.partition("=")
        if not (label and equals):
            raise _token_error(token)
        metric = _parse_token(label, fields)
        if metric is not None:
            metrics.append(metric)
    return tuple(metrics)


def _parse_quoted(text: str) -> tuple[Metric, ...]:
    """The general path: tokens may have quoted labels containing spaces."""
    metrics: list[Metric] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        if match.start() != pos:
            break
        pos = match.end()
        quoted, label, fields = match.groups()
        if label is None:
            label = _quoted_label(quoted)
        metric = _parse_token(label, fields)
        if metric is not None:
            metrics.append(metric)
    if pos != len(text) and not text[pos:].isspace():
        raise _token_error(text[pos:])
    return tuple(metrics)


def _parse_token(label: str, text: str) -> Metric | None:
    """The fields after ``label=``: plain numbers take the short path, the rest is checked."""
    fields = text.split(";")
    count = len(fields)
    # float() also takes "nan", "inf", "1_0", non-ASCII digits and overflows ("1e999") to inf:
    # only plain decimals take the short path.
    if count <= 5 and text.isascii() and _NOT_PLAIN(text) is None:
        fields.extend(_PAD[count:])
        value_text, warn, crit, low, high = fields
        try:
            if value_text[-1:] in _NUMBER_END:
                value, unit = float(value_text), ""
            elif value_text == "U":
                return None
            else:
                value, unit = _value_and_unit(label, value_text)
            return Metric(
                label,
                value,
                unit,
                float(warn) if warn else None,
                float(crit) if crit else None,
                float(low) if low else None,
                float(high) if high else None,
            )
        except ValueError:
            pass  # a range, a unit on min/max, or an error: the careful path decides
    return _parse_fields(label, fields)


def _quoted_label(quoted: str) -> str:
    label = quoted.replace("''", "'")
    if not label:
        raise PerfdataError(f"metric '': label is empty; {_EXPECTED}")
    return label


def _parse_fields(label: str, fields: list[str]) -> Metric | None:
    """Build one Metric from the ``;``-separated fields of a token (None for value ``U``)."""
    count = len(fields)
    if count > 5:
        if any(fields[5:]):
            raise PerfdataError(
                f"metric {label!r}: {count} ';'-separated fields, expected at most 5 "
                "(value;warn;crit;min;max)"
            )
        count = 5
    text = fields[0]
    value = _number(text)
    unit = ""
    if value is None:
        if text == "U":
            return None
        value, unit = _value_and_unit(label, text)
    warn = crit = low = high = None
    if count > 1 and fields[1]:
        warn = _threshold(label, "warn", fields[1])
    if count > 2 and fields[2]:
        crit = _threshold(label, "crit", fields[2])
    if count > 3 and fields[3]:
        low = _limit(label, "min", fields[3], unit)
    if count > 4 and fields[4]:
        high = _limit(label, "max", fields[4], unit)
    return Metric(label, value, unit, warn, crit, low, high)


def _value_and_unit(label: str, text: str) -> tuple[float, str]:
    if not text:
        raise PerfdataError(f"metric {label!r}: value is missing; {_EXPECTED}")
    match = _VALUE.fullmatch(text)
    if match is not None:
        value = float(match[1])
        if value - value == 0.0:  # finite
            return value, match[2] or ""
    raise PerfdataError(f"metric {label!r}: value {text!r} is not a number")


def _threshold(label: str, field: str, text: str) -> float | None:
    """A warn/crit field as a graph line; a plain number is taken as is."""
    number = _number(text)
    if number is not None:
        return number
    try:
        return Range.parse(text).graph_value
    except PerfdataError as exc:
        raise PerfdataError(
            f"metric {label!r}: {field} {text!r} is not a number or a valid range ({exc})"
        ) from exc


def _limit(label: str, field: str, text: str, unit: str) -> float:
    """A min/max field; some plugins repeat the value's unit there, which is accepted."""
    number = _number(text)
    if number is None and unit and text.endswith(unit):
        number = _number(text[: -len(unit)])
    if number is None:
        raise PerfdataError(f"metric {label!r}: {field} {text!r} is not a number")
    return number


def _token_error(rest: str) -> PerfdataError:
    """Explain why no ``label=fields`` token starts at ``rest``."""
    rest = rest.lstrip()
    if rest.startswith("'"):
        quoted = _QUOTED_TOKEN.match(rest)
        if quoted is None:
            return PerfdataError(f"token {rest[:60]!r}: label quote is not closed; {_EXPECTED}")
        return PerfdataError(f"token {quoted[0]!r}: no '=' after the quoted label; {_EXPECTED}")
    token = rest.split(None, 1)[0]
    if token.startswith("="):
        return PerfdataError(f"token {token!r}: label is missing; {_EXPECTED}")
    return PerfdataError(f"token {token!r}: no '=' after the label; {_EXPECTED}")


def format_perfdata(metrics: Iterable[Metric]) -> str:
    """Perfdata text for ``metrics``; labels are quoted when needed so parsing gives them back."""
    return " ".join(_format_metric(metric) for metric in metrics)


def _format_metric(metric: Metric) -> str:
    label = metric.name
    if not label:
        raise PerfdataError("metric '': label is empty")
    if _BARE_LABEL.fullmatch(label) is None:
        label = "'" + label.replace("'", "''") + "'"
    if metric.unit and _UNIT.fullmatch(metric.unit) is None:
        raise PerfdataError(f"metric {metric.name!r}: unit {metric.unit!r} cannot be written")
    fields = [_format_number(metric.name, "value", metric.value) + metric.unit]
    for name, number in zip(
        _FIELD_NAMES[1:], (metric.warn, metric.crit, metric.min, metric.max), strict=True
    ):
        fields.append("" if number is None else _format_number(metric.name, name, number))
    while fields[-1] == "":
        fields.pop()
    return f"{label}={';'.join(fields)}"


def _format_number(label: str, field: str, number: float) -> str:
    if not math.isfinite(number):
        raise PerfdataError(f"metric {label!r}: {field} {number!r} is not a finite number")
    return _fmt(number)


def split_plugin_output(output: str) -> tuple[str, str, str]:
    """Split plugin output into (summary, long output, perfdata).

    The first line is ``summary | perfdata``; later lines are long output until one holds a
    ``|``: the text after it and every following line are perfdata too. Perfdata parts are
    joined with a space.
    """
    lines = output.replace("\r\n", "\n").split("\n")
    summary, _, perf = lines[0].partition("|")
    perf_parts = [perf.strip()]
    long_lines: list[str] = []
    for index, line in enumerate(lines[1:], start=1):
        text, bar, more = line.partition("|")
        if not bar:
            long_lines.append(line.rstrip())
            continue
        if text.strip():
            long_lines.append(text.rstrip())
        perf_parts.append(more.strip())
        perf_parts.extend(rest.strip() for rest in lines[index + 1 :])
        break
    long_output = "\n".join(long_lines).strip("\n")
    return summary.strip(), long_output, " ".join(part for part in perf_parts if part)
