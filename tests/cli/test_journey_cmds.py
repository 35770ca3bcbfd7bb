"""``lookout journey check`` (a Nagios plugin: exit code = state) and ``lookout journey run``
pushing to a real ``lookout serve`` site, whose passive service then goes UNKNOWN when the
runs stop (freshness via ``stale_after``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from journeyshop import PASSWORD, running_shop
from livesite import LiveSite, make_site
from lookout.cli.main import app

pytestmark = pytest.mark.integration

JOURNEY = """
name: Shop
host: shop
steps:
  - name: login page
    request: {url: "${base}/login"}
    extract:
      csrf: {regex: 'name="csrf" value="([^"]+)"'}
  - name: log in
    request:
      method: POST
      url: ${base}/login
      form: {user: alice, password: "${env:SHOP_PASSWORD}", csrf: "${csrf}"}
    expect: {body_contains: "Welcome, alice"}
  - name: orders
    request: {url: "${base}/orders"}
    expect: {body_contains: Order 42}
"""


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    with running_shop() as url:
        yield url


@pytest.fixture
def journey(tmp_path: Path) -> Path:
    path = tmp_path / "shop.yaml"
    path.write_text(JOURNEY)
    return path


def cli(*args: str, password: str = PASSWORD) -> Any:
    return CliRunner(env={"SHOP_PASSWORD": password}).invoke(app, list(args))


def test_check_is_a_nagios_plugin(shop: str, journey: Path) -> None:
    ok = cli("journey", "check", str(journey), "--var", f"base={shop}", "--format", "plugin")
    assert ok.exit_code == 0, ok.output
    first, *rest = ok.output.splitlines()
    assert first.startswith("Shop: all 3 steps OK in ")
    assert "| step_1_login_page=" in first
    assert " total=" in first
    assert rest[0].startswith("✔ 1. login page (http, ")
    bad = cli("journey", "check", str(journey), "--var", f"base={shop}", password="nope")
    assert bad.exit_code == 2, bad.output
    assert "CRIT at step 2 'log in': status 401 (expected below 400); 1 step skipped" in bad.output


def test_check_rich_report(shop: str, journey: Path) -> None:
    r = cli("journey", "check", str(journey), "--var", f"base={shop}", "--format", "rich")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("OK Shop: all 3 steps OK")
    assert "✔" in r.output
    assert "GET " + shop + "/orders → 200" in r.output


def test_malformed_file_is_unknown_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nsteps:\n  - name: a\n    request: {method: GET}\n")
    r = cli("journey", "check", str(path), "--format", "plugin")
    assert r.exit_code == 3
    assert r.output.splitlines() == [
        f"UNKNOWN: {path}: not a valid journey",
        f"{path}:4: step 1 'a' → request.url: Field required",
    ]
    r = cli("journey", "check", str(tmp_path / "missing.yaml"), "--format", "plugin")
    assert r.exit_code == 3
    assert "cannot read it" in r.output


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    s = make_site(tmp_path_factory.mktemp("journey") / "site")
    s.start()
    try:
        yield s
    finally:
        s.stop()


def _service(site: LiveSite, host: str, service: str) -> dict[str, Any]:
    with site.client() as c:
        r = c.get(f"/api/v1/hosts/{host}/services/{service}")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


def test_run_pushes_to_the_site_then_goes_unknown_when_runs_stop(
    site: LiveSite, shop: str, journey: Path
) -> None:
    conn = ("--url", site.url, "--token", site.token)
    args = ("journey", "run", str(journey), *conn, "--var", f"base={shop}", "--format", "plugin")
    r = cli(*args, "--create", "--interval", "1", "--stale-after", "2")
    assert r.exit_code == 0, r.output
    assert "host shop added" in r.output
    assert "service shop/Journey Shop added" in r.output
    assert "OK pushed for shop/Journey Shop" in r.output
    svc = _service(site, "shop", "Journey Shop")
    assert (svc["state_name"], svc["stale_after"], svc["check_interval"]) == ("OK", 2, 1)
    assert svc["summary"].startswith("Shop: all 3 steps OK in ")
    assert svc["long_output"].splitlines()[2].startswith("✔ 3. orders (http, ")
    names = [m["name"] for m in svc["metrics"]]
    assert names == ["step_1_login_page", "step_2_log_in", "step_3_orders", "total"]

    r = cli(*args, password="nope")  # the service exists now: no --create needed
    assert r.exit_code == 0, r.output  # pushed; the state is the site's business
    assert "CRIT pushed for shop/Journey Shop" in r.output
    svc = _service(site, "shop", "Journey Shop")
    assert svc["state_name"] == "CRIT"
    assert svc["state_type"] == "hard"  # one attempt: every run is a whole check already
    assert "– 3. orders: skipped" in svc["long_output"]

    deadline = time.monotonic() + 15  # stale after 2 × 1 s, ticks every second
    while time.monotonic() < deadline:
        svc = _service(site, "shop", "Journey Shop")
        if svc["state_name"] == "UNKNOWN":
            break
        time.sleep(0.2)
    assert svc["state_name"] == "UNKNOWN"
    assert svc["stale"] is True
    assert svc["summary"].startswith("No result for ")


def test_run_with_a_broken_file_tells_the_site(site: LiveSite, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nsteps: []\n")
    conn = ("--url", site.url, "--token", site.token)
    args = ("journey", "run", str(path), *conn, "--host", "shop", "--service", "Broken")
    r = cli(*args)
    assert r.exit_code == 2
    assert "could not tell the site either: no result accepted" in r.output
    assert "unknown service shop/Broken" in r.output
    r = cli(*args, "--create")
    assert r.exit_code == 2
    assert "UNKNOWN pushed for shop/Broken" in r.output
    svc = _service(site, "shop", "Broken")
    assert svc["state_name"] == "UNKNOWN"
    assert "steps: List should have at least 1 item" in svc["summary"]


def test_run_needs_a_host(site: LiveSite, tmp_path: Path) -> None:
    path = tmp_path / "nohost.yaml"
    path.write_text("name: x\nsteps:\n  - {name: a, request: {url: 'http://127.0.0.1:9/'}}\n")
    r = cli("journey", "run", str(path), "--url", site.url, "--token", site.token)
    assert r.exit_code == 2
    assert "no host for the result" in r.output


def test_run_to_an_unknown_service_says_so(site: LiveSite, shop: str, journey: Path) -> None:
    conn = ("--url", site.url, "--token", site.token)
    r = cli("journey", "run", str(journey), *conn, "--var", f"base={shop}", "--service", "Nope")
    assert r.exit_code == 1
    assert "unknown service shop/Nope" in r.output
