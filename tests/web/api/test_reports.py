"""``GET /api/v1/reports/availability`` over real HTTP against a site that lived through an
outage and a downtime a moment ago."""

from __future__ import annotations

import csv
import io
import time

import httpx
import pytest
from webapi import Api, locs, problem_of

pytestmark = pytest.mark.integration


def report(admin: httpx.Client, **params: object) -> dict:  # type: ignore[type-arg]
    r = admin.get("/api/v1/reports/availability", params=params)  # type: ignore[arg-type]
    assert r.status_code == 200, r.text
    body: dict = r.json()  # type: ignore[type-arg]
    return body


def test_an_outage_then_a_downtime_are_counted_and_listed(api: Api, admin: httpx.Client) -> None:
    host, svc = api.host_with_service("http", attempts=1)
    began = time.time()
    api.result(host, svc, 0, summary="fine")
    api.result(host, svc, 2, summary="down")
    time.sleep(0.6)
    api.result(host, svc, 0, summary="back")
    r = admin.post(
        "/api/v1/actions/schedule-downtime",
        json={"host": host, "service": svc, "start": time.time(), "end": time.time() + 3600},
    )
    assert r.status_code == 200, r.text
    time.sleep(0.4)

    body = report(admin, host=host, since=f"{int(time.time() - began) + 2}s", sla=50)
    [item] = body["items"]
    seconds = item["seconds"]
    assert (item["host"], item["service"]) == (host, svc)
    assert 0.5 <= seconds["crit"] <= 1.5
    assert 0.3 <= seconds["downtime"] <= 1.5
    assert seconds["warn"] == seconds["unknown"] == 0
    [outage] = item["outages"]
    assert (outage["state"], outage["ongoing"]) == (2, False)
    assert outage["duration"] == pytest.approx(seconds["crit"])
    assert item["sla_met"] is (item["percent"] >= 50)

    counted_as_ok = report(admin, host=host, since="1m", downtime="ok")["items"][0]
    assert counted_as_ok["seconds"]["downtime"] == 0

    hosts = report(admin, host=host, since="1m", kind="hosts")["items"]
    assert [(h["host"], h["service"]) for h in hosts] == [(host, None)]
    assert hosts[0]["seconds"]["down"] == 0


def test_csv_has_one_row_per_object(api: Api, admin: httpx.Client) -> None:
    host, _ = api.host_with_service("a")
    api.service(host, "b")
    r = admin.get("/api/v1/reports/availability", params={"host": host, "format": "csv"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(row["host"], row["service"]) for row in rows] == [(host, "a"), (host, "b")]
    assert rows[0]["unmonitored"] != ""  # never checked: not monitored at all yet


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"since": "yesterday"}, ["since"]),
        ({"since": "1d", "until": "soon"}, ["until"]),
        ({"label": "novalue"}, ["label"]),
        ({"since": "2030-01-01T00:00:00Z", "until": "2029-01-01T00:00:00Z"}, ["since"]),
    ],
)
def test_bad_parameters_say_which(admin: httpx.Client, params: dict, loc: list[str]) -> None:  # type: ignore[type-arg]
    r = admin.get("/api/v1/reports/availability", params=params)
    assert loc in locs(problem_of(r, 422))
