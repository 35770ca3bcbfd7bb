"""Each request that could poison a site (issue 16) is refused at the door with the field named,
and the site stays ready: /readyz 200, the pages and lists that failed before still answer."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from webapi import Api, locs, problem_of, unique

NOW = time.time()


def _raw(client: httpx.Client, path: str, text: str) -> httpx.Response:
    """Send JSON text as is: NaN and 1e999 are what a careless client writes."""
    return client.post(path, content=text, headers={"content-type": "application/json"})


def _site_still_fine(admin: httpx.Client) -> None:
    assert admin.get("/readyz").status_code == 200
    for path in ("/api/v1/downtimes", "/api/v1/hosts", "/api/v1/services", "/api/v1/events"):
        assert admin.get(path).status_code == 200, path


@pytest.mark.parametrize(
    ("extra", "loc"),
    [
        ({"checked_at": "NaN", "perfdata": "a=1"}, ["results", 0, "checked_at"]),
        ({"checked_at": "inf"}, ["results", 0, "checked_at"]),
        ({"checked_at": -5}, ["results", 0, "checked_at"]),
        ({"summary": "bad\u0000byte"}, ["results", 0, "summary"]),
        ({"long_output": "bad\u0000byte"}, ["results", 0, "long_output"]),
        ({"output": "OK\u0000 | a=1"}, ["results", 0, "output"]),
        ({"perfdata": "a\u0000b=1"}, ["results", 0, "perfdata"]),
        ({"metrics": [{"name": "a", "value": 1e308}]}, ["results", 0, "metrics", 0, "value"]),
        (
            {"metrics": [{"name": "a", "value": 1, "crit": -1e301}]},
            ["results", 0, "metrics", 0, "crit"],
        ),
        ({"metrics": [{"name": "a\u0000", "value": 1}]}, ["results", 0, "metrics", 0, "name"]),
    ],
)
def test_results_with_unstorable_values_are_refused(
    api: Api, admin: httpx.Client, extra: dict[str, Any], loc: list[Any]
) -> None:
    host, svc = api.host_with_service()
    body = {"results": [{"host": host, "service": svc, "state": 1, **extra}]}
    resp = admin.post("/api/v1/results", content=json.dumps(body))
    assert loc in locs(problem_of(resp, 422))
    assert api.svc(host, svc)["checked"] is False
    _site_still_fine(admin)


def test_too_many_metrics_are_refused(api: Api, admin: httpx.Client) -> None:
    host, svc = api.host_with_service()
    perfdata = " ".join(f"m{i}=1" for i in range(501))
    resp = api.submit({"host": host, "service": svc, "state": 0, "perfdata": perfdata})
    body = problem_of(resp, 422)
    assert "at most 500" in body["errors"][0]["msg"]


def test_deeply_nested_results_are_refused(admin: httpx.Client) -> None:
    text = '{"results":' + "[" * 1000 + "]" * 1000 + "}"
    resp = _raw(admin, "/api/v1/results", text)
    assert resp.status_code == 422, resp.text
    resp = _raw(admin, "/api/v1/results", "[" * 5000 + "]" * 5000)
    assert resp.status_code == 422, resp.text
    _site_still_fine(admin)


@pytest.mark.parametrize(
    ("start", "end", "loc"),
    [
        ("NaN", "2000000000", "start"),
        ("1", "1e999", "end"),
        ("1", "1e308", "end"),
        ("-1e308", "2000000000", "start"),
        ("Infinity", "2000000000", "start"),
    ],
)
def test_downtimes_with_times_out_of_range_are_refused(
    api: Api, admin: httpx.Client, start: str, end: str, loc: str
) -> None:
    host = api.host()
    text = f'{{"host": "{host}", "start": {start}, "end": {end}}}'
    resp = _raw(admin, "/api/v1/actions/schedule-downtime", text)
    assert [loc] in locs(problem_of(resp, 422))
    _site_still_fine(admin)
    page = admin.get(f"/hosts/{host}")  # the UI page (a redirect to log in, not a 500)
    assert page.status_code < 500


def test_flexible_downtime_of_ten_thousand_years_is_refused(api: Api, admin: httpx.Client) -> None:
    host = api.host()
    body = {"host": host, "start": NOW, "end": NOW + 3600, "fixed": False, "duration": 3e11}
    resp = admin.post("/api/v1/actions/schedule-downtime", json=body)
    assert ["duration"] in locs(problem_of(resp, 422))


def test_comments_with_nul_are_refused(api: Api, admin: httpx.Client) -> None:
    host = api.host()
    resp = admin.post("/api/v1/actions/comment", json={"host": host, "comment": "a\u0000b"})
    assert ["comment"] in locs(problem_of(resp, 422))


def test_a_token_that_never_expires_by_overflow_is_refused(admin: httpx.Client) -> None:
    text = f'{{"name": "{unique("t")}", "expires_at": 1e999}}'
    resp = _raw(admin, "/api/v1/tokens", text)
    assert ["expires_at"] in locs(problem_of(resp, 422))
    assert admin.get("/api/v1/tokens").status_code == 200


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"labels": {"env": "a\u0000"}}, ["labels", "env"]),
        ({"address": "10.0.0.1\u0000"}, ["address"]),
        (
            {
                "check": {
                    "type": "tcp",
                    "port": 22,
                    "x": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
                }
            },
            ["check"],
        ),
        ({"labels": {f"k{i}": "v" for i in range(65)}}, ["labels"]),
    ],
)
def test_host_fields_with_unstorable_values_are_refused(
    admin: httpx.Client, body: dict[str, Any], loc: list[Any]
) -> None:
    resp = admin.post("/api/v1/hosts", json={"name": unique(), **body})
    errors = locs(problem_of(resp, 422))
    assert any(e[: len(loc)] == loc for e in errors), errors


@pytest.mark.parametrize("name", [".", "..", " web", "web ", "-web", "we\u0000b", "a/b"])
def test_hosts_the_product_cannot_address_are_refused(admin: httpx.Client, name: str) -> None:
    resp = admin.post("/api/v1/hosts", json={"name": name})
    body = problem_of(resp, 422)
    assert ["name"] in locs(body)
    assert admin.get("/api/v1/hosts", params={"q": name}).status_code == 200


@pytest.mark.parametrize("name", [".", "..", " disk"])
def test_services_the_product_cannot_address_are_refused(
    api: Api, admin: httpx.Client, name: str
) -> None:
    host = api.host()
    resp = admin.post(f"/api/v1/hosts/{host}/services", json={"name": name})
    assert ["name"] in locs(problem_of(resp, 422))


def test_a_user_email_with_nul_is_refused(admin: httpx.Client) -> None:
    resp = admin.post("/api/v1/users", json={"name": unique("u"), "email": "a\u0000@b.c"})
    assert ["email"] in locs(problem_of(resp, 422))


@pytest.mark.parametrize("state", ["¹", "٣", "4", "-1"])
def test_a_state_filter_of_other_digits_is_a_clear_error(viewer: httpx.Client, state: str) -> None:
    resp = viewer.get("/api/v1/hosts", params={"state": state})
    assert ["state"] in locs(problem_of(resp, 422))


def test_notification_settings_with_nul_are_refused(admin: httpx.Client) -> None:
    channel = {
        "name": unique("hook"),
        "spec": {"type": "webhook", "url": "http://127.0.0.1:9/x", "secret": "s\u0000"},
    }
    resp = admin.post("/api/v1/notifications/channels", json=channel)
    errors = locs(problem_of(resp, 422))
    assert any(loc[-1] == "secret" for loc in errors), errors
    rule = {"name": unique("r"), "channels": ["c"], "hosts": ["web\u0000"]}
    resp = admin.post("/api/v1/notifications/rules", json=rule)
    assert any(loc[:1] == ["hosts"] for loc in locs(problem_of(resp, 422)))


def test_a_token_name_with_nul_is_refused(admin: httpx.Client) -> None:
    resp = admin.post("/api/v1/tokens", json={"name": "ci\u0000"})
    assert ["name"] in locs(problem_of(resp, 422))


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        (
            "/api/v1/kube/clusters",
            {"name": "c0", "server": "http://127.0.0.1:9", "token": "x", "interval": 5e-324},
            ["interval"],
        ),
        (
            "/api/v1/kube/clusters",
            {
                "name": "c1",
                "server": "http://127.0.0.1:9",
                "token": "x",
                "params": {"a": "b\u0000"},
            },
            ["params", "a"],
        ),
        ("/api/v1/hosts", {"name": "tight", "check_interval": 5e-324}, ["check_interval"]),
        (
            "/api/v1/notifications/rules",
            {"name": "slow", "channels": ["c"], "delay": 1e300},
            ["delay"],
        ),
    ],
)
def test_intervals_that_would_spin_or_never_come_are_refused(
    admin: httpx.Client, path: str, body: dict[str, Any], loc: list[Any]
) -> None:
    """A denormal interval made the site poll a cluster ~1,100 times a second."""
    assert loc in locs(problem_of(admin.post(path, json=body), 422))
