"""Check rules over the REST API on a real site: parameters by label, in order, picked up by
running checks without a restart. Rules match only this test's hosts (a unique label), as the
site is shared with the other tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from webapi import Api, locs, problem_of, unique, wait_for

from livesite import LiveSite, make_site

pytestmark = pytest.mark.integration


def _rule(admin: httpx.Client, **body: Any) -> dict[str, Any]:
    body.setdefault("name", unique("rule"))
    r = admin.post("/api/v1/check-rules", json=body)
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def test_add_list_show_replace_remove(admin: httpx.Client, viewer: httpx.Client) -> None:
    team = unique("team")
    rule = _rule(admin, check_type="tls", host_labels={"team": team}, params={"warn_days": 20})
    name = rule["name"]
    assert (rule["params"], rule["objects"]) == ({"warn_days": 20}, "any")
    listed = viewer.get("/api/v1/check-rules").json()["items"]
    assert name in [r["name"] for r in listed]
    problem_of(admin.post("/api/v1/check-rules", json={"name": name, "check_type": "tls"}), 409)
    body = {"check_type": "tls", "host_labels": {"team": team}, "params": {"crit_days": 3}}
    r = admin.put(f"/api/v1/check-rules/{name}", json=body)
    assert (r.status_code, r.json()["params"]) == (200, {"crit_days": 3})
    assert viewer.get(f"/api/v1/check-rules/{name}").json()["position"] == rule["position"]
    assert admin.delete(f"/api/v1/check-rules/{name}").status_code == 204
    problem_of(viewer.get(f"/api/v1/check-rules/{name}"), 404)
    problem_of(admin.delete(f"/api/v1/check-rules/{name}"), 404)


def test_viewers_cannot_write(viewer: httpx.Client) -> None:
    problem_of(viewer.post("/api/v1/check-rules", json={"name": "x", "check_type": "tcp"}), 403)


@pytest.mark.parametrize(
    ("body", "loc", "text"),
    [
        (
            {"check_type": "tls", "params": {"warn_days": "soon"}},
            ["params", "warn_days"],
            "integer",
        ),
        (
            {"check_type": "tls", "params": {"warn_days": 5, "crit_days": 9}},
            ["params", "crit_days"],
            "above",
        ),
        ({"check_type": "ping", "params": {"rta": [500, 200]}}, ["params"], "crit (200) must not"),
        ({"check_type": "http", "params": {"timeot": 3}}, ["params", "timeot"], "Extra inputs"),
        ({"check_type": "http", "params": {"type": "tcp"}}, ["params", "type"], "not the type"),
        ({"check_type": "snmp"}, ["check_type"], "unknown check type 'snmp'"),
        ({"check_type": "tcp", "position": "top"}, ["position"], "integer"),
        ({"check_type": "tcp", "objects": "all"}, ["objects"], "'any'"),
    ],
)
def test_bad_rules_name_the_field(
    admin: httpx.Client, body: dict[str, Any], loc: list[str], text: str
) -> None:
    problem = problem_of(admin.post("/api/v1/check-rules", json={"name": "bad", **body}), 422)
    assert loc in locs(problem), problem
    assert text in problem["detail"]


def _tcp(site: LiveSite, **extra: Any) -> dict[str, Any]:
    return {"type": "tcp", "port": urlsplit(site.url).port, **extra}


def _state(api: Api, host: str, service: str, state: int) -> dict[str, Any]:
    return wait_for(  # type: ignore[no-any-return]
        lambda: (s := api.svc(host, service))["checked"] and s["state"] == state and s,
        timeout=20,
    )


def test_own_params_win_then_the_first_rule_then_the_defaults(
    site: LiveSite, api: Api, admin: httpx.Client
) -> None:
    team = unique("team")
    host = api.host(address="127.0.0.1", labels={"team": team})
    fast = {"check_interval": 0.5, "max_check_attempts": 1}
    api.service(host, "Plain", check=_tcp(site), **fast)
    api.service(host, "Own", check=_tcp(site, crit=60), **fast)
    assert _state(api, host, "Plain", 0)["check_rule"] is None
    # warn/crit 0 s: any connect time is WARN/CRIT, so the state shows which value won
    first = _rule(
        admin, check_type="tcp", host_labels={"team": team}, params={"warn": 0, "crit": 0}
    )
    _rule(admin, check_type="tcp", host_labels={"team": team}, params={"crit": 50})
    assert _state(api, host, "Plain", 2)["check_rule"] == first["name"]
    assert _state(api, host, "Own", 1)["check_rule"] == first["name"]  # warn 0 from the rule
    shown = admin.get(f"/api/v1/check-rules/{first['name']}").json()
    assert sorted(shown["applies_to"]) == [f"{host}/Own", f"{host}/Plain"]
    # a changed rule reaches the running checks at their next run
    body = {"check_type": "tcp", "host_labels": {"team": team}, "params": {"warn": 0}}
    assert admin.put(f"/api/v1/check-rules/{first['name']}", json=body).status_code == 200
    _state(api, host, "Plain", 1)
    # removed: the second rule applies (crit 50 s: OK again)
    assert admin.delete(f"/api/v1/check-rules/{first['name']}").status_code == 204
    assert _state(api, host, "Plain", 0)["check_rule"] != first["name"]


def test_a_rule_that_does_not_fit_a_check_it_matches_is_refused(
    site: LiveSite, api: Api, admin: httpx.Client
) -> None:
    team = unique("team")
    host = api.host(address="127.0.0.1", labels={"team": team})
    api.service(host, "Own", check=_tcp(site, crit=1))
    body = {"name": "misfit", "check_type": "tcp", "host_labels": {"team": team}}
    r = admin.post("/api/v1/check-rules", json={**body, "params": {"warn": 5}})
    problem = problem_of(r, 422)
    assert ["params"] in locs(problem)
    assert f"{host}/Own" in problem["detail"]
    assert "crit" in problem["detail"]
    # the other way round: a service that would not fit the rule that matches it
    assert admin.delete(f"/api/v1/hosts/{host}/services/Own").status_code == 204
    _rule(
        admin, name=unique("fits"), check_type="tcp", host_labels={"team": team}, params={"warn": 5}
    )
    r = admin.post(
        f"/api/v1/hosts/{host}/services", json={"name": "New", "check": _tcp(site, crit=1)}
    )
    assert f"{host}/New" in problem_of(r, 422)["detail"]


def test_a_rule_can_be_put_first_and_limited_by_names(
    site: LiveSite, api: Api, admin: httpx.Client
) -> None:
    team = unique("team")
    host = api.host(address="127.0.0.1", labels={"team": team})
    api.service(host, "Web", check=_tcp(site), labels={"tier": "front"})
    api.service(host, "Db", check=_tcp(site))
    last = _rule(admin, check_type="tcp", host_labels={"team": team})
    first = _rule(
        admin,
        check_type="tcp",
        objects="services",
        hosts=[host],
        services=["W*"],
        service_labels={"tier": "fr*"},
        position=0,
    )
    assert first["position"] == 0
    assert api.svc(host, "Web")["check_rule"] == first["name"]
    assert api.svc(host, "Db")["check_rule"] == last["name"]
    for name in (first["name"], last["name"]):
        assert admin.delete(f"/api/v1/check-rules/{name}").status_code == 204


def test_rules_are_kept_across_a_restart_in_order(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site")
    site.start()
    try:
        with site.client() as admin:
            for name in ("b", "a"):
                _rule(admin, name=name, check_type="ping", params={"count": 2})
            _rule(admin, name="c", check_type="tls", position=0)
        site.stop()
        site.start()
        with site.client() as admin:
            items = admin.get("/api/v1/check-rules").json()["items"]
            assert [(r["name"], r["position"]) for r in items] == [("c", 0), ("b", 1), ("a", 2)]
            assert items[1]["params"] == {"count": 2}
    finally:
        site.stop()
