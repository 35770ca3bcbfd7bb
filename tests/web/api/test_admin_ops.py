"""Tokens, users and roles; health, readiness, Prometheus metrics, OpenAPI; metric series."""

from __future__ import annotations

import math
import re
import time

import httpx
import pytest
from webapi import Api, locs, problem_of, unique

from livesite import LiveSite

pytestmark = pytest.mark.integration


# ---------------------------------------------------------------------- tokens
def test_token_create_list_revoke(api: Api, admin: httpx.Client, site: LiveSite) -> None:
    name = unique("ci")
    r = admin.post("/api/v1/tokens", json={"name": name, "role": "operator"})
    assert r.status_code == 201, r.text
    created = r.json()
    token = created["token"]
    assert token.startswith("lk_")
    assert len(token) > 30
    assert (created["name"], created["user"], created["role"]) == (name, "admin", "operator")
    listed = {t["id"]: t for t in admin.get("/api/v1/tokens").json()["items"]}
    assert listed[created["id"]]["name"] == name
    assert listed[created["id"]]["role"] == "operator"
    assert listed[created["id"]]["revoked_at"] is None
    assert token not in admin.get("/api/v1/tokens").text  # never shown again

    with site.client(token) as client:
        assert client.get("/api/v1/hosts").status_code == 200
        assert admin.delete(f"/api/v1/tokens/{created['id']}").status_code == 204
        problem_of(client.get("/api/v1/hosts"), 401)
        problem_of(client.post("/api/v1/results", json={"results": []}), 401)
    assert created["id"] not in {t["id"] for t in admin.get("/api/v1/tokens").json()["items"]}
    problem_of(admin.delete(f"/api/v1/tokens/{created['id']}"), 404)
    problem_of(admin.delete("/api/v1/tokens/999999"), 404)


def test_token_validation(admin: httpx.Client) -> None:
    r = admin.post("/api/v1/tokens", json={"name": "x", "role": "root"})
    assert locs(problem_of(r, 422)) == [["role"]]
    r = admin.post("/api/v1/tokens", json={"name": ""})
    assert locs(problem_of(r, 422)) == [["name"]]
    r = admin.post("/api/v1/tokens", json={"name": "x", "user": unique("ghost")})
    problem_of(r, 404)
    r = admin.post("/api/v1/tokens", json={"name": "x", "expires_at": "whenever"})
    assert locs(problem_of(r, 422)) == [["expires_at"]]
    problem_of(admin.delete("/api/v1/tokens/abc"), 422)


def test_expired_token_is_refused(admin: httpx.Client, site: LiveSite) -> None:
    r = admin.post(
        "/api/v1/tokens", json={"name": "short", "role": "viewer", "expires_at": time.time() + 0.5}
    )
    assert r.status_code == 201, r.text
    with site.client(r.json()["token"]) as client:
        assert client.get("/api/v1/hosts").status_code == 200
        time.sleep(0.6)
        problem_of(client.get("/api/v1/hosts"), 401)


# ---------------------------------------------------------------------- users
def test_users_create_list_delete(api: Api, admin: httpx.Client, site: LiveSite) -> None:
    name = unique("u")
    r = admin.post(
        "/api/v1/users",
        json={
            "name": name,
            "role": "operator",
            "email": "u@example.org",
            "password": "s3cret-pass",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json() == {"name": name, "role": "operator", "email": "u@example.org"}
    assert "s3cret" not in r.text
    users = {u["name"]: u for u in admin.get("/api/v1/users").json()["items"]}
    assert users[name]["role"] == "operator"
    assert users[name]["has_password"] is True
    assert "password_hash" not in users[name]
    assert users["admin"]["role"] == "admin"
    problem_of(admin.post("/api/v1/users", json={"name": name}), 409)

    token = api.token("operator", user=name)
    with site.client(token) as client:
        assert client.get("/api/v1/hosts").status_code == 200
        assert admin.delete(f"/api/v1/users/{name}").status_code == 204
        # deleting a user revokes its tokens at once
        problem_of(client.get("/api/v1/hosts"), 401)
    assert name not in {u["name"] for u in admin.get("/api/v1/users").json()["items"]}
    problem_of(admin.delete(f"/api/v1/users/{name}"), 404)


def test_user_validation(admin: httpx.Client) -> None:
    r = admin.post("/api/v1/users", json={"name": "a/b", "role": "boss", "password": "short"})
    assert sorted(locs(problem_of(r, 422))) == [["name"], ["password"], ["role"]]


def test_admin_may_not_delete_itself(admin: httpx.Client) -> None:
    problem_of(admin.delete("/api/v1/users/admin"), 409)
    assert admin.get("/api/v1/users").status_code == 200


# ---------------------------------------------------------------------- roles
def test_roles_are_enforced(
    site: LiveSite, viewer: httpx.Client, operator: httpx.Client, api: Api
) -> None:
    host = api.host()
    body = {"name": unique()}
    problem = problem_of(viewer.post("/api/v1/hosts", json=body), 403)
    assert "viewer" in problem["detail"]
    problem_of(operator.post("/api/v1/hosts", json=body), 403)
    problem_of(viewer.patch(f"/api/v1/hosts/{host}", json={"address": "x"}), 403)
    problem_of(operator.delete(f"/api/v1/hosts/{host}"), 403)
    problem_of(operator.post(f"/api/v1/hosts/{host}/services", json={"name": "s"}), 403)
    for path in ("/api/v1/tokens", "/api/v1/users"):
        problem_of(viewer.get(path), 403)
        problem_of(operator.get(path), 403)
    problem_of(operator.post("/api/v1/tokens", json={"name": "escalate", "role": "admin"}), 403)
    problem_of(operator.post("/api/v1/users", json={"name": unique()}), 403)
    problem_of(viewer.post("/api/v1/results", json={"host": host, "state": 0}), 403)
    for client in (viewer, operator):
        assert client.get(f"/api/v1/hosts/{host}").status_code == 200
        assert client.get("/api/v1/services").status_code == 200
    assert api.get_host(host)["address"] == ""
    problem_of(api.c.get(f"/api/v1/hosts/{body['name']}"), 404)


def test_missing_or_wrong_token_is_401(site: LiveSite) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Token " + site.token},
        {"Authorization": site.token},
    ):
        for method, path in (
            ("GET", "/api/v1/hosts"),
            ("GET", "/api/v1/events"),
            ("POST", "/api/v1/hosts"),
            ("GET", "/api/v1/metrics"),
        ):
            r = httpx.request(method, f"{site.url}{path}", headers=headers, json={})
            problem_of(r, 401)
            assert r.headers["www-authenticate"] == "Bearer"
    r = httpx.get(f"{site.url}/api/v1/hosts", headers={"Authorization": f"bearer {site.token}"})
    assert r.status_code == 200


# ---------------------------------------------------------------------- health and metrics
def test_healthz_and_readyz_need_no_token(site: LiveSite) -> None:
    r = httpx.get(f"{site.url}/healthz")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    r = httpx.get(f"{site.url}/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ready"
    assert body["hosts"] >= 0
    assert body["services"] >= 0


_SAMPLE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"'
    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? (\S+)$'
)


def scrape(site: LiveSite) -> dict[str, float]:
    """Parse the Prometheus text exposition strictly: every sample has HELP and TYPE."""
    r = httpx.get(f"{site.url}/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert r.text.endswith("\n")
    helps: set[str] = set()
    types: dict[str, str] = {}
    samples: dict[str, float] = {}
    for line in r.text.splitlines():
        if line.startswith("# HELP "):
            helps.add(line.split()[2])
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped")
            types[name] = kind
        else:
            m = _SAMPLE.match(line)
            assert m, f"not a sample line: {line!r}"
            name, labels, value = m.groups()
            assert name in types, name
            assert name in helps, name
            number = float(value)
            assert not math.isnan(number)
            key = name + (labels or "")
            assert key not in samples, f"duplicate sample {key}"
            samples[key] = number
    for name, kind in types.items():
        if kind == "counter":
            assert name.endswith("_total"), name
    return samples


def test_metrics_exposition_and_counters(site: LiveSite, api: Api) -> None:
    before = scrape(site)
    for key in (
        "lookout_results_ingested_total",
        "lookout_events_total",
        'lookout_services{state="ok"}',
        'lookout_hosts{state="up"}',
        "lookout_journal_commits_total",
        "lookout_scheduler_lag_seconds",
    ):
        assert key in before, key
    host = api.host()
    for name in ("a", "b", "c"):
        api.service(host, name, max_check_attempts=1)
    r = api.submit(
        *({"host": host, "service": n, "state": 2} for n in ("a", "b", "c")),
        {"host": unique("ghost"), "state": 0},
    )
    assert r.status_code == 207
    api.result(host, None, 1)
    after = scrape(site)
    assert after["lookout_results_ingested_total"] >= before["lookout_results_ingested_total"] + 4
    assert after["lookout_events_total"] >= before["lookout_events_total"] + 4
    assert after['lookout_services{state="crit"}'] >= before['lookout_services{state="crit"}'] + 3
    assert after['lookout_hosts{state="down"}'] >= before['lookout_hosts{state="down"}'] + 1
    assert after["lookout_journal_commits_total"] > before["lookout_journal_commits_total"]
    for key, value in before.items():
        if key.endswith("_total"):
            assert after[key] >= value, key


def test_openapi_lists_the_paths(site: LiveSite) -> None:
    r = httpx.get(f"{site.url}/api/v1/openapi.json")
    assert r.status_code == 200
    schema = r.json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for path in (
        "/api/v1/results",
        "/api/v1/hosts",
        "/api/v1/hosts/{host}",
        "/api/v1/hosts/{host}/services",
        "/api/v1/services",
        "/api/v1/actions/acknowledge",
        "/api/v1/actions/schedule-downtime",
        "/api/v1/actions/remove-downtime",
        "/api/v1/events",
        "/api/v1/downtimes",
        "/api/v1/tokens",
        "/api/v1/users",
        "/api/v1/metrics",
    ):
        assert path in paths, path
    assert "post" in paths["/api/v1/results"]
    assert set(paths["/api/v1/results"]["post"]["responses"]) >= {"200", "207", "422"}
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "/healthz" not in paths
    docs = httpx.get(f"{site.url}/api/v1/docs")
    assert docs.status_code == 200
    assert "openapi.json" in docs.text


def test_unknown_route_and_method(admin: httpx.Client) -> None:
    problem_of(admin.get("/api/v1/nothing-here"), 404)
    r = admin.put("/api/v1/hosts", json={})
    problem_of(r, 405)


# ---------------------------------------------------------------------- metric series
def test_metric_series(api: Api, admin: httpx.Client) -> None:
    host, svc = api.host_with_service("Filesystem /var")
    step = 60.0
    t0 = (time.time() // (3 * step) - 2) * 3 * step  # a bucket start for step and 3 * step
    r = api.submit(
        {
            "host": host,
            "service": svc,
            "state": 0,
            "checked_at": t0 + 1,
            "perfdata": "used=10%;80;90;0;100 free=90",
        },
        {
            "host": host,
            "service": svc,
            "state": 0,
            "checked_at": t0 + 30,
            "perfdata": "used=20%;80;90;0;100 free=80",
        },
        {
            "host": host,
            "service": svc,
            "state": 0,
            "checked_at": t0 + 2 * step + 5,
            "perfdata": "used=50%;80;90;0;100 free=50",
        },
    )
    assert r.status_code == 200, r.text
    r = admin.get(
        "/api/v1/metrics",
        params={"host": host, "service": svc, "start": t0, "end": t0 + 3 * step - 1, "step": step},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["host"], body["service"], body["step"]) == (host, svc, step)
    series = {s["name"]: s for s in body["series"]}
    assert set(series) == {"used", "free"}
    used = series["used"]
    assert (used["unit"], used["warn"], used["crit"], used["min"], used["max"]) == (
        "%",
        80.0,
        90.0,
        0.0,
        100.0,
    )
    assert used["points"] == [[t0, 15.0], [t0 + step, None], [t0 + 2 * step, 50.0]]
    assert series["free"]["points"] == [[t0, 85.0], [t0 + step, None], [t0 + 2 * step, 50.0]]
    # one metric, ISO times
    r = admin.get(
        "/api/v1/metrics",
        params={
            "host": host,
            "service": svc,
            "name": "free",
            "step": step * 3,
            "start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0)),
            "end": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + 3 * step - 1)),
        },
    )
    assert r.status_code == 200, r.text
    [free] = r.json()["series"]
    assert free["name"] == "free"
    assert free["points"] == [[t0, pytest.approx((90 + 80 + 50) / 3)]]
    # the default range (last 4 hours) includes them
    r = admin.get("/api/v1/metrics", params={"host": host, "service": svc})
    values = [
        v for _, v in {s["name"]: s for s in r.json()["series"]}["used"]["points"] if v is not None
    ]
    assert values == [15.0, 50.0]


def test_host_metric_series(api: Api, admin: httpx.Client) -> None:
    host = api.host()
    api.result(host, None, 0, perfdata="rta=0.5ms;100;500;0 pl=0%")
    r = admin.get("/api/v1/metrics", params={"host": host, "step": 3600})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["service"] is None
    assert {s["name"] for s in body["series"]} == {"rta", "pl"}


def test_metric_series_errors(api: Api, admin: httpx.Client, viewer: httpx.Client) -> None:
    host, svc = api.host_with_service()
    problem_of(admin.get("/api/v1/metrics", params={"host": unique("no")}), 404)
    problem_of(admin.get("/api/v1/metrics", params={"host": host, "service": "nope"}), 404)
    problem_of(admin.get("/api/v1/metrics", params={"service": svc}), 422)
    r = admin.get(
        "/api/v1/metrics", params={"host": host, "service": svc, "start": 2000, "end": 1000}
    )
    assert locs(problem_of(r, 422)) == [["end"]]
    r = admin.get("/api/v1/metrics", params={"host": host, "service": svc, "start": "soon"})
    assert locs(problem_of(r, 422)) == [["start"]]
    r = admin.get("/api/v1/metrics", params={"host": host, "service": svc, "step": 0.001})
    assert locs(problem_of(r, 422)) == [["step"]]
    problem_of(admin.get("/api/v1/metrics", params={"host": host, "step": 0}), 422)
    r = viewer.get("/api/v1/metrics", params={"host": host, "service": svc})
    assert r.status_code == 200
    assert r.json()["series"] == []
