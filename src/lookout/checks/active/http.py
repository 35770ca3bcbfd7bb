"""HTTP(S) check: GET a URL; check status, content and response time."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from http import HTTPStatus
from typing import Annotated, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import Field, ValidationInfo, field_validator

from lookout.checks.active import (
    ActiveParams,
    CheckContext,
    Outcome,
    describe_error,
    label,
    time_metric,
    time_state,
)
from lookout.domain.metrics import Metric

MAX_BODY = 1 << 20
"""Bytes of the body kept to search for ``contains``; the size counts the whole body."""

Status = Annotated[int, Field(ge=100, le=599)]


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


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    reason: str
    size: int
    text: str


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
            reply = await _fetch(ctx.client(params.verify_tls), url, params)
    except (TimeoutError, httpx.TimeoutException):
        return _failed(f"Timeout after {params.timeout:g} s", url)
    except httpx.HTTPError as exc:
        return _failed(describe_error(exc), url)
    except httpx.InvalidURL as exc:
        return Outcome(state=3, summary=f"HTTP UNKNOWN - Invalid URL {url!r}: {exc}")
    return _judge(params, url, reply, ctx.timer() - started)


async def _fetch(client: httpx.AsyncClient, url: str, params: HttpParams) -> _Reply:
    request = client.stream(
        "GET", url, timeout=params.timeout, follow_redirects=params.follow_redirects
    )
    async with request as response:
        body = bytearray()
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            body += chunk[: MAX_BODY - len(body)]
        text = body.decode(response.encoding or "utf-8", errors="replace")
        return _Reply(response.status_code, _reason(response), size, text)


def _reason(response: httpx.Response) -> str:
    if response.reason_phrase:
        return response.reason_phrase
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return ""


def _failed(reason: str, url: str) -> Outcome:
    return Outcome(state=2, summary=f"HTTP CRITICAL - {reason}", long_output=f"URL: {url}")


def _judge(params: HttpParams, url: str, reply: _Reply, elapsed: float) -> Outcome:
    status_state, status_text = _judge_status(params, reply)
    content_state, content_text = _judge_content(params, reply)
    time_st, note = time_state(elapsed, params)
    state = max(status_state, content_state, time_st)
    parts = [status_text, *content_text, f"{reply.size} bytes in {elapsed:.3f} s response time"]
    summary = f"HTTP {label(state)} - {' - '.join(parts)}{note}"
    metrics = (time_metric(elapsed, params), Metric("size", float(reply.size), "B", min=0.0))
    return Outcome(state, summary, long_output=f"URL: {url}", metrics=metrics)


def _judge_status(params: HttpParams, reply: _Reply) -> tuple[int, str]:
    text = f"{reply.status} {reply.reason}".rstrip()
    if params.expect_status is None:
        ok, expected = 200 <= reply.status < 400, "2xx/3xx"
    else:
        ok = reply.status in params.expect_status
        expected = ", ".join(str(code) for code in params.expect_status)
    return (0, text) if ok else (2, f"{text} (expected {expected})")


def _judge_content(params: HttpParams, reply: _Reply) -> tuple[int, list[str]]:
    if params.contains is None or params.contains in reply.text:
        return 0, []
    return 2, [f"string {params.contains!r} not found"]
