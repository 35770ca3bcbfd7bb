"""The availability page: a bar per object, the SLA verdict, a CSV download, and a clear
refusal of a bad period."""

from __future__ import annotations

import time

import pytest
from uiweb import Browser
from webapi import Api

pytestmark = pytest.mark.integration


def test_availability_page_bar_verdict_and_csv(api: Api, ui_viewer: Browser) -> None:
    host, svc = api.host_with_service("web", attempts=1)
    api.result(host, svc, 2, summary="down")
    time.sleep(0.3)
    api.result(host, svc, 0, summary="up")

    page = ui_viewer.get("/reports/availability", host=host, since="1h", sla="99.99").text
    assert f"{host}/{svc}</a>" in page
    assert 'class="av-crit"' in page
    assert 'class="av-ok"' in page
    assert ">missed<" in page
    csv = ui_viewer.get("/reports/availability.csv", host=host, since="1h")
    assert csv.status_code == 200
    assert csv.text.splitlines()[1].startswith(f"{host},{svc},")


def test_a_bad_period_is_refused_saying_why(ui_viewer: Browser) -> None:
    r = ui_viewer.get("/reports/availability", since="sometime")
    assert r.status_code == 422
    assert "neither a duration" in r.text
