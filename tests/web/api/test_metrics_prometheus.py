"""``/metrics`` scraped by a real Prometheus: every service's state, acknowledgement, downtime
and perfdata with host and service labels (opt-in), the site's own metrics always."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from amserver import wait_for
from livesite import LiveSite, make_site
from promserver import Prometheus, start

pytestmark = pytest.mark.integration


@pytest.fixture
def scraped(tmp_path: Path) -> Iterator[tuple[LiveSite, Prometheus]]:
    site = make_site(tmp_path / "site", metrics={"services": True, "perfdata": True})
    site.start()
    prom = start(tmp_path / "prom", [site.url.removeprefix("http://")], token=site.token)
    try:
        yield site, prom
    finally:
        prom.stop()
        site.stop()


def value(prom: Prometheus, expr: str) -> float | None:
    result = prom.query(expr)
    return float(result[0]["value"][1]) if result else None


def test_prometheus_scrapes_service_states_and_perfdata(
    scraped: tuple[LiveSite, Prometheus],
) -> None:
    site, prom = scraped
    with site.client() as c:
        c.post("/api/v1/hosts", json={"name": "web01"}).raise_for_status()
        c.post(
            "/api/v1/hosts/web01/services", json={"name": 'disk "/var"', "max_check_attempts": 1}
        ).raise_for_status()
        r = c.post(
            "/api/v1/results",
            json={
                "results": [
                    {
                        "host": "web01",
                        "service": 'disk "/var"',
                        "state": 2,
                        "summary": "full",
                        "perfdata": "var=97%;80;90;0;100",
                    }
                ]
            },
        )
        assert r.status_code in (200, 202), r.text
        c.post(
            "/api/v1/actions/acknowledge",
            json={"host": "web01", "service": 'disk "/var"', "comment": "on it"},
        ).raise_for_status()
        c.post(
            "/api/v1/actions/schedule-downtime",
            json={"host": "web01", "start": time.time(), "end": time.time() + 3600},
        ).raise_for_status()
    sel = 'host="web01",service="disk \\"/var\\""'
    wait_for("a scrape with the service", lambda: value(prom, f"lookout_service_state{{{sel}}}"))
    assert value(prom, f"lookout_service_state{{{sel}}}") == 2
    assert value(prom, f"lookout_service_acknowledged{{{sel}}}") == 1
    assert value(prom, f"lookout_service_in_downtime{{{sel}}}") == 1
    assert value(prom, f'lookout_perfdata{{{sel},metric="var",unit="%"}}') == 97
    assert value(prom, f'lookout_perfdata_warn{{{sel},metric="var"}}') == 80
    assert value(prom, f'lookout_perfdata_crit{{{sel},metric="var"}}') == 90
    assert value(prom, 'lookout_host_state{host="web01"}') == 0
    assert value(prom, 'lookout_services{state="crit"}') == 1
    assert value(prom, "lookout_results_ingested_total") >= 1  # type: ignore[operator]
    assert value(prom, 'up{job="lookout"}') == 1


def test_object_families_are_opt_in(live_site: LiveSite) -> None:
    text = httpx.get(f"{live_site.url}/metrics").text
    assert "lookout_results_ingested_total" in text
    assert "lookout_service_state" not in text


def test_object_families_need_a_token(tmp_path: Path) -> None:
    """With every host and service named in it, /metrics wants a bearer token of any role;
    ``auth = "none"`` opens it again."""
    site = make_site(tmp_path / "site", metrics={"services": True})
    site.start()
    try:
        anonymous = httpx.get(f"{site.url}/metrics")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == "Bearer"
        with site.client() as c:
            viewer = c.post("/api/v1/tokens", json={"name": "prom", "role": "viewer"}).json()
        scraped = httpx.get(
            f"{site.url}/metrics", headers={"Authorization": f"Bearer {viewer['token']}"}
        )
        assert scraped.status_code == 200
        assert "lookout_services" in scraped.text
    finally:
        site.stop()
    opened = make_site(tmp_path / "open", metrics={"services": True, "auth": "none"})
    opened.start()
    try:
        assert httpx.get(f"{opened.url}/metrics").status_code == 200
    finally:
        opened.stop()
