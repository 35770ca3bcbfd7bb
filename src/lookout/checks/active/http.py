"""HTTP(S) check: GET a URL; check status, content, body conditions and response time.

Body conditions test a JSON path of the body (jsonpath-ng's extended syntax: ``$.status``,
``$.items[*].state``, filters) or a regular expression on the body. The request goes through
the context's lean HTTP/1.1 client (``http11.py``), which times the phases: TCP connect, TLS
handshake (both only when a connection was opened, not for a kept one) and time to the first
byte of the answer (from the start, as curl's ``time_starttransfer``), next to the total
``time``.
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

import regex
from jsonpath_ng import JSONPath
from jsonpath_ng.ext.parser import parse as parse_jsonpath
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from lookout.checks.active import (
    ActiveParams,
    CheckContext,
    Outcome,
    describe_error,
    label,
    time_metric,
    time_state,
)
from lookout.checks.active.http11 import Answer, HttpFailure
from lookout.domain.metrics import Metric

MAX_BODY = 1 << 20
"""Bytes of the body kept to search for ``contains``; the size counts the whole body."""

Status = Annotated[int, Field(ge=100, le=599)]
JsonScalar = str | int | float | bool | None


class BodyCondition(BaseModel):
    """One condition on the body: a JSON path with ``equals``/``matches``/``not_matches``
    (only the path: it must exist), or ``matches``/``not_matches`` on the whole body text."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    json_path: str | None = Field(
        None, alias="json", min_length=1, description="JSON path into the body, e.g. $.status."
    )
    equals: JsonScalar = Field(None, description="A value at the path must equal this.")
    matches: str | None = Field(
        None, min_length=1, description="Regular expression a value (or the body) must match."
    )
    not_matches: str | None = Field(
        None, min_length=1, description="Regular expression no value (nor the body) may match."
    )

    @field_validator("json_path")
    @classmethod
    def _path_parses(cls, path: str | None) -> str | None:
        if path is not None:
            try:
                compiled_path(path)
            except Exception as exc:  # jsonpath-ng raises plain Exception for syntax errors
                raise ValueError(f"JSON path {path!r} does not parse: {exc}") from None
        return path

    @field_validator("matches", "not_matches")
    @classmethod
    def _regex_compiles(cls, pattern: str | None, info: ValidationInfo) -> str | None:
        if pattern is not None:
            try:
                regex.compile(pattern)
            except regex.error as exc:
                raise ValueError(f"{info.field_name} {pattern!r} is no regex: {exc}") from None
        return pattern

    @model_validator(mode="after")
    def _one_test(self) -> Self:
        tests = [n for n in ("equals", "matches", "not_matches") if n in self.model_fields_set]
        if len(tests) > 1:
            raise ValueError(f"use one of equals, matches, not_matches per condition, not {tests}")
        if self.json_path is None and tests not in (["matches"], ["not_matches"]):
            raise ValueError("a condition needs json (a path) or matches/not_matches (a regex)")
        return self


@functools.lru_cache(maxsize=1024)
def compiled_path(path: str) -> JSONPath:
    """The parsed JSON path (parsing is slow; configs repeat)."""
    return parse_jsonpath(path)


class HttpParams(ActiveParams):
    """GET ``url`` (or ``http[s]://<host address>[:port]<path>``) and judge the answer."""

    type: Literal["http"] = Field("http", description="Check type.")
    url: str | None = Field(
        None, description="Full http:// or https:// URL; default: built from the host's address."
    )
    port: int | None = Field(
        None, ge=1, le=65535, description="Port for the built URL; default: 80 or 443."
    )
    path: str = Field("/", pattern=r"^/", description="Path (and query) for the built URL.")
    tls: bool = Field(False, description="Use https:// for the built URL.")
    expect_status: tuple[Status, ...] | None = Field(
        None, min_length=1, description="Status codes that are OK; default: any 2xx or 3xx."
    )
    contains: str | None = Field(
        None, min_length=1, description="Text the body must contain, else CRIT."
    )
    verify_tls: bool = Field(True, description="Verify the server's TLS certificate.")
    follow_redirects: bool = Field(False, description="Follow redirects and judge the last one.")
    conditions: tuple[BodyCondition, ...] = Field(
        (), description="Conditions on the body, all must hold, else CRIT."
    )

    @field_validator("url")
    @classmethod
    def _absolute_http_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url {url!r} must be an absolute http:// or https:// URL")
        return url

    @field_validator("port", "path", "tls")
    @classmethod
    def _not_with_url(cls, value: object, info: ValidationInfo) -> object:
        if info.data.get("url") is not None:
            raise ValueError(f"{info.field_name} cannot be combined with url; put it in the url")
        return value


def effective_url(params: HttpParams, target_address: str) -> str:
    """``params.url``, or the URL built from the host's address, ``tls``, ``port``, ``path``."""
    if params.url is not None:
        return params.url
    scheme = "https" if params.tls else "http"
    host = f"[{target_address}]" if ":" in target_address else target_address
    port = "" if params.port is None else f":{params.port}"
    return f"{scheme}://{host}{port}{params.path}"


async def run(params: HttpParams, target_address: str, ctx: CheckContext) -> Outcome:
    """One GET; CRIT on a wrong status, missing text, refused connection, timeout, TLS error."""
    url = effective_url(params, target_address)
    started = ctx.timer()
    try:
        async with asyncio.timeout(params.timeout):
            reply = await ctx.web.get(
                url,
                verify=params.verify_tls,
                follow_redirects=params.follow_redirects,
                max_body=MAX_BODY,
            )
    except TimeoutError:
        return _failed(f"Timeout after {params.timeout:g} s", url)
    except (OSError, HttpFailure) as exc:
        return _failed(describe_error(exc), url)
    except ValueError as exc:
        return Outcome(state=3, summary=f"HTTP UNKNOWN - Invalid URL {url!r}: {exc}")
    return _judge(params, url, reply, ctx.timer() - started)


def _failed(reason: str, url: str) -> Outcome:
    return Outcome(state=2, summary=f"HTTP CRITICAL - {reason}", long_output=f"URL: {url}")


def _judge(params: HttpParams, url: str, reply: Answer, elapsed: float) -> Outcome:
    text = reply.text
    status_state, status_text = _judge_status(params, reply)
    content_state, content_text = _judge_content(params, text)
    body_state, body_text = judge_conditions(params.conditions, text)
    time_st, note = time_state(elapsed, params)
    state = max(status_state, content_state, body_state, time_st)
    parts = [status_text, *content_text, *body_text]
    parts.append(f"{reply.size} bytes in {elapsed:.3f} s response time")
    summary = f"HTTP {label(state)} - {' - '.join(parts)}{note}"
    metrics = (
        time_metric(elapsed, params),
        Metric("size", float(reply.size), "B", min=0.0),
        *(
            Metric(f"time_{name}", round(reply.phases[name], 6), "s", min=0.0)
            for name in _PHASES
            if name in reply.phases
        ),
    )
    return Outcome(state, summary, long_output=f"URL: {url}", metrics=metrics)


_PHASES = ("connect", "tls", "firstbyte")


def _judge_status(params: HttpParams, reply: Answer) -> tuple[int, str]:
    text = f"{reply.status} {reply.reason}".rstrip()
    if params.expect_status is None:
        ok, expected = 200 <= reply.status < 400, "2xx/3xx"
    else:
        ok = reply.status in params.expect_status
        expected = ", ".join(str(code) for code in params.expect_status)
    return (0, text) if ok else (2, f"{text} (expected {expected})")


def _judge_content(params: HttpParams, text: str) -> tuple[int, list[str]]:
    if params.contains is None or params.contains in text:
        return 0, []
    return 2, [f"string {params.contains!r} not found"]


def judge_conditions(conditions: tuple[BodyCondition, ...], text: str) -> tuple[int, list[str]]:
    """CRIT with one note per failed condition; OK with no notes when all hold."""
    notes: list[str] = []
    document: object = _NOT_PARSED
    for condition in conditions:
        if condition.json_path is None:
            notes += _body_regex(condition, text)
            continue
        if document is _NOT_PARSED:
            document = _parse_json(text)
        if document is _NOT_JSON:
            return 2, [*notes, "body is not JSON"]
        notes += _json_condition(condition, condition.json_path, document)
    return (2 if notes else 0), notes


_NOT_PARSED = object()
_NOT_JSON = object()


def _parse_json(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return _NOT_JSON


REGEX_TIME_LIMIT = 0.1
"""Seconds one regex may search (it runs on the event loop); beyond that the condition fails
and says so: a pattern that backtracks catastrophically must not stall the site."""


class _RegexTimeout(Exception):
    def __init__(self, pattern: str) -> None:
        super().__init__(f"regex {pattern!r} gave up after {REGEX_TIME_LIMIT:g} s")


def _search(pattern: str, text: str) -> bool:
    """``regex.search`` with a time limit (the ``regex`` module can stop a search)."""
    try:
        return regex.search(pattern, text, timeout=REGEX_TIME_LIMIT) is not None
    except TimeoutError as exc:
        raise _RegexTimeout(pattern) from exc


def _body_regex(condition: BodyCondition, text: str) -> list[str]:
    try:
        if condition.matches is not None and not _search(condition.matches, text):
            return [f"body does not match {condition.matches!r}"]
        if condition.not_matches is not None and _search(condition.not_matches, text):
            return [f"body matches {condition.not_matches!r}"]
    except _RegexTimeout as exc:
        return [str(exc)]
    return []


def _json_condition(condition: BodyCondition, path: str, document: object) -> list[str]:
    values = [match.value for match in compiled_path(path).find(document)]
    if not values:
        return [f"{path} not found"]
    shown = ", ".join(_text(v) for v in values[:3]) + (", …" if len(values) > 3 else "")
    if "equals" in condition.model_fields_set:
        if not any(_same(v, condition.equals) for v in values):
            return [f"{path} is {shown}, expected {_text(condition.equals)}"]
    else:
        try:
            return _json_regex(condition, path, shown, values)
        except _RegexTimeout as exc:
            return [f"{path}: {exc}"]
    return []


def _json_regex(condition: BodyCondition, path: str, shown: str, values: list[object]) -> list[str]:
    texts = [_text(v, quote=False) for v in values]
    if condition.matches is not None and not any(_search(condition.matches, t) for t in texts):
        return [f"{path} is {shown}, does not match {condition.matches!r}"]
    if condition.not_matches is not None and any(_search(condition.not_matches, t) for t in texts):
        return [f"{path} is {shown}, matches {condition.not_matches!r}"]
    return []


def _same(value: object, expected: JsonScalar) -> bool:
    if isinstance(value, bool) or isinstance(expected, bool):
        return value is expected
    return value == expected


def _text(value: object, *, quote: bool = True) -> str:
    if isinstance(value, str):
        return repr(value) if quote else value
    return json.dumps(value, ensure_ascii=False)
