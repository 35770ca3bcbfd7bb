"""Assertions and extraction over one HTTP response, as pure functions of what arrived."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lookout.checks.journeys.jsonpath import MISSING, lookup, parse_path
from lookout.checks.journeys.model import Expect, Extract, Levels

OK, WARN, CRIT, UNKNOWN = 0, 1, 2, 3
_SHOW = 80


@dataclass(frozen=True, slots=True)
class Response:
    """What a request brought back. ``headers`` keys are lower case; ``cookies`` are those the
    client holds after the response (so a cookie set earlier counts too)."""

    status: int
    headers: Mapping[str, str]
    text: str
    seconds: float
    cookies: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.text)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The state of one response against its step's ``expect``: CRIT with the first failing
    assertion, WARN when only the time is over its warning level, else OK."""

    state: int
    reason: str = ""


def check(expect: Expect, response: Response) -> Verdict:
    failure = _first_failure(expect, response)
    if failure:
        return Verdict(CRIT, failure)
    return time_verdict(expect.time_levels, response.seconds)


def time_verdict(levels: Levels | None, seconds: float) -> Verdict:
    if levels is None:
        return Verdict(OK)
    if levels.crit is not None and seconds > levels.crit:
        return Verdict(CRIT, f"response time {seconds:.3f} s > {levels.crit:g} s")
    if levels.warn is not None and seconds > levels.warn:
        return Verdict(WARN, f"response time {seconds:.3f} s > {levels.warn:g} s (warn)")
    return Verdict(OK)


def _first_failure(expect: Expect, r: Response) -> str:
    return (
        _status(expect.status, r.status)
        or _contains(expect.body_contains, r.text)
        or _not_contains(expect.body_not_contains, r.text)
        or _regex(expect.body_regex, r.text)
        or _json(expect.json_path, r)
        or _headers(expect.headers, r.headers)
    )


def _status(expected: int | list[int] | None, status: int) -> str:
    if expected is None:
        return "" if status < 400 else f"status {status} (expected below 400)"
    codes = [expected] if isinstance(expected, int) else expected
    if status in codes:
        return ""
    want = " or ".join(map(str, codes))
    return f"status {status}, expected {want}"


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _contains(texts: str | list[str], body: str) -> str:
    for text in _as_list(texts):
        if text not in body:
            return f"body does not contain {_short(text)}"
    return ""


def _not_contains(texts: str | list[str], body: str) -> str:
    for text in _as_list(texts):
        if text in body:
            return f"body contains {_short(text)}"
    return ""


def _regex(pattern: str | None, body: str) -> str:
    if pattern is None or re.search(pattern, body):
        return ""
    return f"body does not match /{pattern}/"


def _json(paths: Mapping[str, Any], r: Response) -> str:
    if not paths:
        return ""
    try:
        doc = r.json()
    except ValueError:
        return f"body is not JSON: {_short(r.text)}"
    for path, want in paths.items():
        got = lookup(doc, parse_path(path))
        if got is MISSING:
            return f"JSON {path} is missing"
        if not _same(got, want):
            return f"JSON {path} is {_clip(json.dumps(got))}, expected {_clip(json.dumps(want))}"
    return ""


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, bool) or isinstance(got, bool):
        return got is want
    return bool(got == want)


def _headers(expected: Mapping[str, str], headers: Mapping[str, str]) -> str:
    for name, text in expected.items():
        value = headers.get(name.lower())
        if value is None:
            return f"header {name} is missing"
        if text not in value:
            return f"header {name} is {_short(value)}, expected it to contain {_short(text)}"
    return ""


class ExtractionFailed(Exception):
    """A value to extract is not in the response."""


def extract(name: str, spec: Extract, r: Response) -> str:
    """The value of variable ``name`` from ``r``, as text (JSON numbers and objects as JSON)."""
    kind = spec.kind
    if kind == "json":
        path = spec.json_path or ""
        try:
            doc = r.json()
        except ValueError:
            raise ExtractionFailed(f"{name}: body is not JSON: {_short(r.text)}") from None
        got = lookup(doc, parse_path(path))
        if got is MISSING:
            raise ExtractionFailed(f"{name}: JSON {path} is missing")
        return got if isinstance(got, str) else json.dumps(got)
    if kind == "regex":
        m = re.search(spec.regex or "", r.text)
        if m is None:
            raise ExtractionFailed(f"{name}: body does not match /{spec.regex}/")
        try:
            value = m.group(spec.group)
        except IndexError:
            raise ExtractionFailed(f"{name}: /{spec.regex}/ has no group {spec.group}") from None
        return value or ""
    if kind == "header":
        value = r.headers.get((spec.header or "").lower())
        if value is None:
            raise ExtractionFailed(f"{name}: header {spec.header} is missing")
        return value
    value = r.cookies.get(spec.cookie or "")
    if value is None:
        held = ", ".join(sorted(r.cookies)) or "none"
        raise ExtractionFailed(f"{name}: cookie {spec.cookie} is not set (cookies: {held})")
    return value


def _short(text: str) -> str:
    return repr(_clip(text))


def _clip(text: str) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= _SHOW else text[: _SHOW - 1] + "…"
