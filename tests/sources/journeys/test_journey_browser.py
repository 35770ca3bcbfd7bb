"""Browser steps in a real headless Chromium (Debian ``chromium``, driven by Playwright):
log in and click through, a failing step with its screenshot, a session that HTTP steps began."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from journeyshop import PASSWORD, running_shop
from lookout.checks.journeys.loader import load_text
from lookout.sources.journeys.browser import CHROMIUM
from lookout.sources.journeys.runner import Options, run_journey

pytestmark = pytest.mark.integration

CLICK_THROUGH = """
name: Shop in a browser
screenshots: shots
steps:
  - name: log in
    browser:
      - goto: ${base}/login
      - fill: {selector: "#user", value: alice}
      - fill: {selector: "#password", value: "${env:SHOP_PASSWORD}"}
      - click: button[type=submit]
      - wait_for: {url: /home}
      - expect_text: Welcome, alice
  - name: orders
    browser:
      - click: "#orders"
      - wait_for: {selector: "#list"}
      - expect_text: {text: "Order 42", selector: "#list"}
    expect: {response_time: {warn: 20}}
"""


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} missing (scripts/test-deps.d/ui.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with running_shop() as url:
        yield url


def _options(shop: str, tmp_path: Path) -> Options:
    return Options(variables={"base": shop}, env={"SHOP_PASSWORD": PASSWORD}, base_dir=tmp_path)


def test_log_in_and_click_through(shop: str, tmp_path: Path) -> None:
    result = run_journey(load_text(CLICK_THROUGH), _options(shop, tmp_path))
    assert result.state == 0, result.long_output
    assert [s.kind for s in result.steps] == ["browser", "browser"]
    assert result.steps[1].warn == 20
    assert not (tmp_path / "shots").exists()


def test_a_failing_action_is_crit_with_a_screenshot(shop: str, tmp_path: Path) -> None:
    text = CLICK_THROUGH.replace('value: "${env:SHOP_PASSWORD}"', "value: wrong")
    journey = load_text("timeout: 1\n" + text)
    result = run_journey(journey, _options(shop, tmp_path))
    assert result.state == 2
    step = result.steps[0]
    assert step.reason == "action 5 wait_for url '/home': timed out after 1 s"
    shots = list((tmp_path / "shots").glob("*.png"))
    assert len(shots) == 1
    assert shots[0].name.startswith("shop-in-a-browser-log-in-")
    assert shots[0].read_bytes().startswith(b"\x89PNG")
    assert step.detail == f"screenshot {shots[0]}"
    assert result.steps[1].state is None


def test_missing_text_names_the_text(shop: str, tmp_path: Path) -> None:
    text = CLICK_THROUGH.replace("Order 42", "Order 43")
    result = run_journey(load_text("timeout: 1\n" + text), _options(shop, tmp_path))
    assert result.steps[1].reason == (
        "action 3 expect_text 'Order 43': text 'Order 43' not shown in #list within 1 s"
    )


def test_browser_continues_the_session_of_http_steps(shop: str, tmp_path: Path) -> None:
    text = f"""
name: mixed
steps:
  - name: log in over HTTP
    request:
      method: POST
      url: {shop}/login
      form: {{user: alice, password: {PASSWORD}, csrf: csrf-7f3a}}
    expect: {{body_contains: Welcome}}
  - name: orders in the browser
    browser:
      - goto: {shop}/orders
      - expect_text: Order 42
"""
    result = run_journey(load_text(text), _options(shop, tmp_path))
    assert result.state == 0, result.long_output


def test_no_chromium_is_unknown(tmp_path: Path) -> None:
    text = "name: b\nsteps:\n  - {name: b, browser: [{goto: 'http://127.0.0.1:9/'}]}\n"
    opts = Options(chromium=str(tmp_path / "no-chromium"))
    result = run_journey(load_text(text), opts)
    assert result.state == 3
    assert result.steps[0].reason.startswith(f"no Chromium at {tmp_path / 'no-chromium'}")
