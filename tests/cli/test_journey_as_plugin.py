"""``lookout journey check`` run by the site itself as a Nagios plugin (check type ``nagios``):
the service gets the journey's state, summary, step lines and timings."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from journeyshop import CSRF, running_shop
from livesite import LiveSite, make_site

pytestmark = pytest.mark.integration

LOOKOUT = Path(sys.executable).parent / "lookout"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    s = make_site(tmp_path_factory.mktemp("journey-plugin") / "site")
    s.start()
    try:
        yield s
    finally:
        s.stop()


def _wait_checked(site: LiveSite, service: str) -> dict[str, Any]:
    deadline = time.monotonic() + 150
    with site.client() as c:
        while time.monotonic() < deadline:
            svc: dict[str, Any] = c.get(f"/api/v1/hosts/shop/services/{service}").json()
            if svc["checked"]:
                return svc
            time.sleep(0.2)
    raise AssertionError(f"{service} not checked within 150 s: {svc}")


def test_the_site_runs_journey_check_as_a_plugin(site: LiveSite, tmp_path: Path) -> None:
    with running_shop() as shop:
        good = tmp_path / "good.yaml"
        good.write_text(
            f"name: Shop\nsteps:\n  - name: login page\n    request: {{url: '{shop}/login'}}\n"
            f"    expect: {{body_contains: {CSRF}}}\n"
        )
        bad = tmp_path / "bad.yaml"
        bad.write_text(good.read_text().replace(CSRF, "no such text"))
        with site.client() as c:
            r = c.post(
                "/api/v1/commands",
                json={
                    "name": "check_journey",
                    "command_line": f"{LOOKOUT} journey check $ARG1$ --format plugin",
                },
            )
            assert r.status_code == 201, r.text
            assert c.post("/api/v1/hosts", json={"name": "shop"}).status_code == 201
            for name, path in (("good", good), ("bad", bad)):
                check = {
                    "type": "nagios",
                    "command": "check_journey",
                    "args": [str(path)],
                    "timeout": 120,  # a Python CLI starting on a loaded CI machine
                }
                body = {"name": name, "check": check, "check_interval": 1}
                r = c.post("/api/v1/hosts/shop/services", json=body)
                assert r.status_code == 201, r.text
        ok = _wait_checked(site, "good")
        crit = _wait_checked(site, "bad")
    assert ok["state_name"] == "OK", (ok["summary"], ok["long_output"])
    assert ok["summary"].startswith("Shop: 1 step OK in ")
    assert [m["name"] for m in ok["metrics"]] == ["step_1_login_page", "total"]
    assert ok["long_output"].startswith("✔ 1. login page (http, ")
    assert crit["state"] == 2, (crit["summary"], crit["long_output"])
    assert (
        crit["summary"] == "Shop: CRIT at step 1 'login page': body does not contain 'no such text'"
    )
