"""Journeys against a real HTTP server on 127.0.0.1 (tests/journeyshop.py): log in with a
form and a CSRF field, keep the session cookie, take a token from one answer into the next
request, and each way a step can fail."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from journeyshop import CSRF, PASSWORD, running_shop
from lookout.checks.journeys.loader import load_text
from lookout.checks.journeys.report import JourneyResult
from lookout.sources.journeys.runner import Options, run_journey

pytestmark = pytest.mark.integration

SHOP = """
name: Shop
variables:
  base: ${env:SHOP}
steps:
  - name: login page
    request: {url: "${base}/login"}
    expect: {status: 200, body_contains: Log in}
    extract:
      csrf: {regex: 'name="csrf" value="([^"]+)"'}
  - name: log in
    request:
      method: POST
      url: ${base}/login
      form: {user: alice, password: "${password}", csrf: "${csrf}"}
    expect:
      status: 200
      body_contains: Welcome, alice
    extract:
      session: {cookie: session}
  - name: token
    request:
      method: post
      url: ${base}/api/token
      json: {user: alice}
    expect:
      json: {$.user: alice}
      headers: {X-Request-Id: r-}
    extract:
      token: {json: $.token}
      request_id: {header: X-Request-Id}
  - name: orders
    request:
      url: ${base}/api/orders
      headers: {Authorization: "Bearer ${token}"}
    expect:
      status: [200, 203]
      json: {"$.orders[0].id": 42, "$.orders[0].paid": true}
      body_regex: '"status": "(shipped|delivered)"'
      response_time: {warn: 5, crit: 10}
"""


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    with running_shop() as url:
        yield url


def run(text: str, shop: str, **variables: str) -> JourneyResult:
    opts = Options(variables={"password": PASSWORD, **variables}, env={"SHOP": shop})
    return run_journey(load_text(text), opts)


def test_log_in_take_a_token_and_use_it(shop: str) -> None:
    result = run(SHOP, shop)
    assert result.state == 0, result.long_output
    assert result.summary.startswith("Shop: all 4 steps OK in ")
    assert [s.state for s in result.steps] == [0, 0, 0, 0]
    names = [m.name for m in result.metrics]
    assert names == ["step_1_login_page", "step_2_log_in", "step_3_token", "step_4_orders", "total"]
    assert all(m.unit == "s" and m.value >= 0 for m in result.metrics)
    orders = result.metrics[3]
    assert (orders.warn, orders.crit) == (5, 10)
    assert result.long_output.splitlines()[1].startswith("✔ 2. log in (http, ")
    assert "POST " + shop + "/login → 200" in result.long_output


def test_cookie_and_extracted_values_carry_over(shop: str) -> None:
    # without the session cookie of step 2, /api/token answers 401
    text = SHOP.replace("      form: {user: alice", "      form: {user: bob")
    result = run(text, shop)
    assert result.state == 2
    assert [s.state for s in result.steps] == [0, 2, None, None]
    assert "status 401, expected 200" in result.summary
    assert "2 steps skipped" in result.summary
    assert result.long_output.splitlines()[2] == "– 3. token: skipped"
    assert [m.name for m in result.metrics] == ["step_1_login_page", "step_2_log_in", "total"]


@pytest.mark.parametrize(
    ("expect", "reason"),
    [
        ("{status: 201}", "status 200, expected 201"),
        ("{body_contains: [Log in, Checkout]}", "body does not contain 'Checkout'"),
        ("{body_not_contains: csrf}", "body contains 'csrf'"),
        ("{body_regex: 'Log ?out'}", "body does not match /Log ?out/"),
        ("{json: {$.x: 1}}", "body is not JSON"),
        ("{headers: {Content-Type: json}}", "header Content-Type is 'text/html; charset=utf-8'"),
        ("{headers: {X-Missing: a}}", "header X-Missing is missing"),
    ],
)
def test_each_failing_assertion_is_named(shop: str, expect: str, reason: str) -> None:
    text = f"""
name: one
steps:
  - name: page
    request: {{url: "{shop}/login"}}
    expect: {expect}
  - name: after
    request: {{url: "{shop}/login"}}
"""
    result = run_journey(load_text(text))
    assert result.state == 2
    assert reason in result.steps[0].reason
    assert result.summary.startswith("one: CRIT at step 1 'page': ")
    assert result.steps[1].state is None


def test_json_value_mismatch_and_missing_path(shop: str) -> None:
    text = SHOP.replace('$.orders[0].paid": true', '$.orders[0].paid": false')
    result = run(text, shop)
    assert result.steps[3].reason == "JSON $.orders[0].paid is true, expected false"
    text = SHOP.replace("token: {json: $.token}", "token: {json: $.data.token}")
    result = run(text, shop)
    assert result.steps[2].state == 2
    assert result.steps[2].reason == "cannot extract token: JSON $.data.token is missing"


def test_a_server_error_fails_without_an_explicit_status(shop: str) -> None:
    text = f"name: broken\nsteps:\n  - name: api\n    request: {{url: '{shop}/broken'}}\n"
    result = run_journey(load_text(text))
    assert (result.state, result.steps[0].reason) == (2, "status 500 (expected below 400)")


def test_response_time_warns_then_crits(shop: str) -> None:
    base = f"name: slow\nsteps:\n  - name: wait\n    request: {{url: '{shop}/slow?s=0.3'}}\n"
    warn = run_journey(load_text(base + "    expect: {response_time: {warn: 0.1, crit: 5}}\n"))
    assert warn.state == 1
    assert warn.steps[0].reason.startswith("response time 0.3")
    assert warn.steps[0].reason.endswith("> 0.1 s (warn)")
    assert warn.summary.startswith("slow: WARN at step 1 'wait': response time")
    crit = run_journey(load_text(base + "    expect: {response_time: 0.1}\n"))
    assert crit.state == 2


def test_a_warning_step_does_not_stop_the_journey(shop: str) -> None:
    text = f"""
name: slow
steps:
  - {{name: wait, request: {{url: '{shop}/slow?s=0.2'}}, expect: {{response_time: {{warn: 0.05}}}}}}
  - {{name: next, request: {{url: '{shop}/login'}}}}
"""
    result = run_journey(load_text(text))
    assert [s.state for s in result.steps] == [1, 0]
    assert result.state == 1


def test_timeout_and_refused_connection(shop: str) -> None:
    text = f"""
name: t
timeout: 0.2
steps:
  - {{name: wait, request: {{url: '{shop}/slow?s=2'}}}}
"""
    result = run_journey(load_text(text))
    assert result.state == 2
    assert result.steps[0].reason.startswith("timed out after 0.2 s (ReadTimeout)")
    assert result.steps[0].seconds < 1.5
    text = "name: t\nsteps:\n  - {name: down, request: {url: 'http://127.0.0.1:9/'}}\n"
    result = run_journey(load_text(text))
    assert result.state == 2
    assert result.steps[0].reason.startswith("ConnectError")


def test_undefined_variable_is_unknown(shop: str) -> None:
    text = f"name: u\nsteps:\n  - {{name: a, request: {{url: '{shop}/${{nope}}'}}}}\n"
    result = run_journey(load_text(text))
    assert result.state == 3
    assert result.steps[0].reason == "${nope} is not defined (defined so far: none)"
    text = (
        "name: u\nvariables: {a: '${env:NO_SUCH_VARIABLE}'}\n"
        "steps:\n  - {name: a, request: {url: x}}\n"
    )
    result = run_journey(load_text(text))
    assert result.state == 3
    assert "environment variable NO_SUCH_VARIABLE is not set" in result.summary


def test_no_redirects_when_asked(shop: str) -> None:
    text = f"""
name: r
steps:
  - name: home
    request: {{url: '{shop}/home', follow_redirects: false}}
    expect: {{status: 302, headers: {{Location: /login}}}}
    extract: {{where: {{header: location}}}}
  - name: there
    request: {{url: '{shop}${{where}}'}}
    expect: {{body_contains: '{CSRF}'}}
"""
    result = run_journey(load_text(text))
    assert result.state == 0, result.long_output


def test_a_long_body_is_cut(shop: str) -> None:
    text = f"""
name: big
steps:
  - name: page
    request: {{url: '{shop}/login'}}
    expect: {{body_contains: Log in, body_not_contains: button}}
"""
    result = run_journey(load_text(text), Options(max_body=100))
    assert result.state == 0, result.long_output
    assert result.steps[0].detail.endswith("→ 200 (body cut at 100 bytes)")


def test_an_unset_environment_variable_stops_at_the_start() -> None:
    text = (
        "name: e\nvariables: {a: '${env:NO_SUCH_VARIABLE_X}'}\n"
        "steps:\n  - {name: a, request: {url: x}}\n"
    )
    result = run_journey(load_text(text), Options(env={}))
    assert result.summary == (
        "e: UNKNOWN at the start: ${env:NO_SUCH_VARIABLE_X}: environment variable "
        "NO_SUCH_VARIABLE_X is not set; 1 step skipped"
    )
    assert [m.name for m in result.metrics] == ["total"]


def test_a_runner_failure_is_unknown_not_crit() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("boom")

    text = "name: x\nsteps:\n  - {name: a, request: {url: 'http://shop.test/'}}\n"
    result = run_journey(load_text(text), Options(transport=httpx.MockTransport(broken)))
    assert result.state == 3
    assert result.steps[0].reason == "the journey runner failed: RuntimeError: boom"
