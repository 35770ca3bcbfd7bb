"""The HTTP check against real local HTTP and HTTPS servers (see conftest.py)."""

from __future__ import annotations

import dataclasses
import itertools
import ssl
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from lookout.checks.active import CheckContext
from lookout.checks.active.http import HttpParams, effective_url, run
from lookout.checks.active.http11 import Http11Client
from lookout.domain.metrics import Metric

pytestmark = pytest.mark.integration

BODY_SIZE = len(b"hello from lookout\n")


def elapsing(ctx: CheckContext, seconds: float) -> CheckContext:
    """``ctx`` whose timer says every request took ``seconds``."""
    return dataclasses.replace(ctx, timer=itertools.count(0.0, seconds).__next__)


async def test_ok_summary_and_metrics(check_context: CheckContext, http_base: str) -> None:
    params = HttpParams(url=f"{http_base}/ok", warn=1.0, crit=5.0)

    outcome = await run(params, "192.0.2.1", elapsing(check_context, 0.02))

    assert outcome.state == 0
    assert outcome.summary == f"HTTP OK - 200 OK - {BODY_SIZE} bytes in 0.020 s response time"
    assert outcome.metrics[:2] == (
        Metric("time", 0.02, "s", warn=1.0, crit=5.0, min=0.0),
        Metric("size", float(BODY_SIZE), "B", min=0.0),
    )
    assert [m.name for m in outcome.metrics[2:]] == ["time_connect", "time_firstbyte"]
    assert outcome.long_output == f"URL: {http_base}/ok"


async def test_url_is_built_from_the_host_address(
    check_context: CheckContext, http_base: str
) -> None:
    port = urlsplit(http_base).port
    params = HttpParams(port=port, path="/ok")

    outcome = await run(params, "127.0.0.1", check_context)

    assert outcome.state == 0
    assert outcome.long_output == f"URL: http://127.0.0.1:{port}/ok"


@pytest.mark.parametrize(
    ("seconds", "state", "label"),
    [(0.5, 0, "OK"), (1.0, 1, "WARNING"), (6.0, 2, "CRITICAL")],
)
async def test_slow_answer_is_judged_by_thresholds(
    check_context: CheckContext, http_base: str, seconds: float, state: int, label: str
) -> None:
    params = HttpParams(url=f"{http_base}/ok", warn=1.0, crit=5.0)

    outcome = await run(params, "127.0.0.1", elapsing(check_context, seconds))

    assert outcome.state == state
    assert outcome.summary.startswith(f"HTTP {label} - 200 OK - ")
    assert f"in {seconds:.3f} s response time" in outcome.summary
    assert outcome.summary.endswith("(warn/crit at 1.000/5.000 s)") == (state > 0)


async def test_server_error_is_critical(check_context: CheckContext, http_base: str) -> None:
    params = HttpParams(url=f"{http_base}/status/503")

    outcome = await run(params, "127.0.0.1", elapsing(check_context, 0.02))

    assert outcome.state == 2
    assert outcome.summary == (
        "HTTP CRITICAL - 503 Service Unavailable (expected 2xx/3xx) - "
        f"{BODY_SIZE} bytes in 0.020 s response time"
    )


@pytest.mark.parametrize(
    ("path", "expect", "state"),
    [("/status/404", (404,), 0), ("/ok", (404, 410), 2), ("/redirect", None, 0)],
)
async def test_expected_status(
    check_context: CheckContext,
    http_base: str,
    path: str,
    expect: tuple[int, ...] | None,
    state: int,
) -> None:
    params = HttpParams(url=http_base + path, expect_status=expect)

    outcome = await run(params, "127.0.0.1", check_context)

    assert outcome.state == state
    assert ("(expected 404, 410)" in outcome.summary) == (state == 2)


async def test_follows_redirects_when_asked(check_context: CheckContext, http_base: str) -> None:
    params = HttpParams(url=f"{http_base}/redirect", follow_redirects=True, expect_status=[200])

    outcome = await run(params, "127.0.0.1", check_context)

    assert outcome.state == 0
    assert outcome.summary.startswith("HTTP OK - 200 OK - ")


@pytest.mark.parametrize(("text", "state"), [("from lookout", 0), ("from nagios", 2)])
async def test_content_must_contain_text(
    check_context: CheckContext, http_base: str, text: str, state: int
) -> None:
    params = HttpParams(url=f"{http_base}/ok", contains=text)

    outcome = await run(params, "127.0.0.1", check_context)

    assert outcome.state == state
    assert (f"200 OK - string '{text}' not found - " in outcome.summary) == (state == 2)


async def test_refused_is_critical(check_context: CheckContext, refused_port: int) -> None:
    params = HttpParams(port=refused_port)

    outcome = await run(params, "127.0.0.1", check_context)

    assert outcome.state == 2
    assert outcome.summary == "HTTP CRITICAL - Connection refused"
    assert outcome.long_output == f"URL: http://127.0.0.1:{refused_port}/"


async def test_timeout_is_critical(check_context: CheckContext, http_base: str) -> None:
    params = HttpParams(url=f"{http_base}/hang", timeout=0.05)

    outcome = await run(params, "127.0.0.1", check_context)

    assert outcome.state == 2
    assert outcome.summary == "HTTP CRITICAL - Timeout after 0.05 s"


async def test_https_to_a_plain_server_is_a_tls_error(
    check_context: CheckContext, http_base: str
) -> None:
    url = http_base.replace("http://", "https://") + "/ok"

    outcome = await run(HttpParams(url=url), "127.0.0.1", check_context)

    assert outcome.state == 2
    assert outcome.summary == "HTTP CRITICAL - TLS error: wrong version number"


async def test_self_signed_certificate_fails_verification(
    check_context: CheckContext, https_base: str
) -> None:
    outcome = await run(HttpParams(url=f"{https_base}/ok"), "127.0.0.1", check_context)

    assert outcome.state == 2
    assert outcome.summary == (
        "HTTP CRITICAL - TLS error: certificate verify failed: self-signed certificate"
    )


async def test_self_signed_certificate_passes_without_verification(
    check_context: CheckContext, https_base: str
) -> None:
    params = HttpParams(url=f"{https_base}/ok", verify_tls=False)

    outcome = await run(params, "127.0.0.1", check_context)

    assert outcome.state == 0
    assert outcome.summary.startswith("HTTP OK - 200 OK - ")


async def test_trusted_certificate_passes_verification(
    https_base: str, tls_files: tuple[Path, Path]
) -> None:
    trusting = ssl.create_default_context(cafile=tls_files[0])
    async with httpx.AsyncClient() as http:
        ctx = CheckContext(http=http, http_insecure=http, web=Http11Client(tls=trusting))
        outcome = await run(HttpParams(url=f"{https_base}/ok"), "127.0.0.1", ctx)
        await ctx.web.aclose()

    assert outcome.state == 0
    assert [m.name for m in outcome.metrics[2:]] == ["time_connect", "time_tls", "time_firstbyte"]


async def test_built_url_uses_tls_and_brackets_ipv6() -> None:
    params = HttpParams(tls=True, port=8443, path="/health?full=1")

    assert effective_url(params, "::1") == "https://[::1]:8443/health?full=1"
    assert effective_url(HttpParams(), "db1.example.com") == "http://db1.example.com/"


async def test_status_reason_and_size(check_context: CheckContext, http_base: str) -> None:
    params = HttpParams(url=f"{http_base}/status/418", expect_status=[418], contains="lookout")

    outcome = await run(params, "teapot", check_context)

    assert outcome.state == 0
    assert outcome.summary.startswith(f"HTTP OK - 418 I'm a Teapot - {BODY_SIZE} bytes in ")
