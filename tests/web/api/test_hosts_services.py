"""Hosts and services over real HTTP: create, read, list with filters, update, delete."""

from __future__ import annotations

import time
from urllib.parse import quote

import httpx
import pytest
from webapi import Api, locs, problem_of, unique, wait_for

from livesite import LiveSite

pytestmark = pytest.mark.integration


# ---------------------------------------------------------------------- hosts
def test_create_host_answers_its_view_and_location(admin: httpx.Client) -> None:
    name = unique()
    r = admin.post(
        "/api/v1/hosts",
        json={"name": name, "address": "10.1.2.3", "labels": {"env": "prod", "team": "db"}},
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/api/v1/hosts/{name}"
    body = r.json()
    assert body["name"] == name
    assert body["address"] == "10.1.2.3"
    assert body["labels"] == {"env": "prod", "team": "db"}
    assert body["state_name"] == "UP"  # no host check: UP until a host result says otherwise
    assert body["summary"].startswith("No host check")
    assert body["services"]["total"] == 0
    again = admin.get(r.headers["location"])
    assert again.status_code == 200
    assert again.json()["address"] == "10.1.2.3"


def test_duplicate_host_is_409(api: Api, admin: httpx.Client) -> None:
    name = api.host()
    problem = problem_of(admin.post("/api/v1/hosts", json={"name": name}), 409)
    assert name in problem["detail"]


def test_unknown_host_is_404(admin: httpx.Client) -> None:
    name = unique("missing")
    for resp in (
        admin.get(f"/api/v1/hosts/{name}"),
        admin.patch(f"/api/v1/hosts/{name}", json={"address": "x"}),
        admin.delete(f"/api/v1/hosts/{name}"),
        admin.get(f"/api/v1/hosts/{name}/services"),
        admin.get(f"/api/v1/hosts/{name}/services/cpu"),
        admin.post(f"/api/v1/hosts/{name}/services", json={"name": "cpu"}),
    ):
        assert name in problem_of(resp, 404)["detail"]


def test_host_body_errors_name_every_field(admin: httpx.Client) -> None:
    r = admin.post(
        "/api/v1/hosts",
        json={
            "name": "a/b",
            "labels": {"bad key": "x"},
            "max_check_attempts": "many",
            "surprise": 1,
        },
    )
    problem = problem_of(r, 422)
    assert sorted(locs(problem)) == sorted(
        [["name"], ["labels"], ["max_check_attempts"], ["surprise"]]
    )


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["name"]),
        ({"name": ""}, ["name"]),
        ({"name": "x" * 256}, ["name"]),
        ({"name": "ok", "max_check_attempts": 0}, ["max_check_attempts"]),
        ({"name": "ok", "check_interval": -1}, ["check_interval"]),
        ({"name": "ok", "labels": {"k": 5}}, ["labels", "k"]),
        ({"name": "ok", "parents": "p"}, ["parents"]),
    ],
)
def test_host_body_validation(admin: httpx.Client, body: dict[str, object], loc: list[str]) -> None:
    assert loc in locs(problem_of(admin.post("/api/v1/hosts", json=body), 422))


def test_malformed_json_is_422(admin: httpx.Client) -> None:
    r = admin.post(
        "/api/v1/hosts", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    problem_of(r, 422)


def test_unknown_parent_is_422(admin: httpx.Client) -> None:
    r = admin.post("/api/v1/hosts", json={"name": unique(), "parents": [unique("nope")]})
    assert locs(problem_of(r, 422)) == [["parents"]]


def test_list_hosts_filters(api: Api, admin: httpx.Client) -> None:
    tag = unique("lh")
    a = api.host(f"{tag}-a", labels={"suite": tag, "env": "prod"}, groups=["web"])
    b = api.host(f"{tag}-b", labels={"suite": tag, "env": "test"}, groups=["web", "db"])
    c = api.host(f"{tag}-c", labels={"suite": tag, "env": "prod"})
    api.result(b, None, "DOWN", summary="gone")
    api.result(c, None, 0)

    def names(**params: object) -> set[str]:
        r = admin.get("/api/v1/hosts", params={"label": f"suite={tag}", **params})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == len(body["items"])
        return {h["name"] for h in body["items"]}

    assert names() == {a, b, c}
    assert names(name=f"{tag}-b") == {b}
    assert names(label=[f"suite={tag}", "env=prod"]) == {a, c}
    assert names(group="db") == {b}
    assert names(group="web") == {a, b}
    assert names(state="down") == {b}
    assert names(state="1") == {b}
    assert names(state=["up", "unreachable"]) == {a, c}
    r = admin.get("/api/v1/hosts", params={"name": tag, "limit": 2, "offset": 0})
    assert r.json()["total"] == 3
    assert len(r.json()["items"]) == 2


@pytest.mark.parametrize(
    ("params", "loc"),
    [({"label": "novalue"}, ["label"]), ({"state": "sideways"}, ["state"])],
)
def test_list_hosts_bad_filters_are_422(
    admin: httpx.Client, params: dict[str, str], loc: list[str]
) -> None:
    assert loc in locs(problem_of(admin.get("/api/v1/hosts", params=params), 422))


def test_patch_host(api: Api, admin: httpx.Client) -> None:
    name = api.host(address="10.0.0.1", labels={"env": "prod"})
    r = admin.patch(
        f"/api/v1/hosts/{name}",
        json={"address": "10.0.0.2", "labels": {"env": "test"}, "max_check_attempts": 4},
    )
    assert r.status_code == 200, r.text
    assert r.json()["address"] == "10.0.0.2"
    view = api.get_host(name)
    assert view["address"] == "10.0.0.2"
    assert view["labels"] == {"env": "test"}
    assert view["max_check_attempts"] == 4
    # fields not given are left alone
    r = admin.patch(f"/api/v1/hosts/{name}", json={"groups": ["g1"]})
    assert r.json()["address"] == "10.0.0.2"
    assert r.json()["groups"] == ["g1"]


def test_intervals_may_be_written_as_durations(api: Api, admin: httpx.Client) -> None:
    name = api.host()
    r = admin.patch(f"/api/v1/hosts/{name}", json={"check_interval": "5m", "retry_interval": 90})
    assert (r.json()["check_interval"], r.json()["retry_interval"]) == (300, 90)
    bad = admin.patch(f"/api/v1/hosts/{name}", json={"check_interval": "5 min"})
    problem = problem_of(bad, 422)
    assert locs(problem) == [["check_interval"]]
    assert "'5 min' is not a duration" in problem["errors"][0]["msg"]
    now = time.time()
    r = admin.post(
        "/api/v1/actions/schedule-downtime",
        json={"host": name, "start": now, "end": now + 3600, "fixed": False, "duration": "2h30m"},
    )
    assert r.status_code == 200, r.text
    downtimes = admin.get("/api/v1/downtimes", params={"host": name}).json()["items"]
    assert [d["duration"] for d in downtimes] == [9000]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"name": "renamed"}, ["name"]),
        ({"max_check_attempts": 0}, ["max_check_attempts"]),
        ({"labels": {"bad key": "x"}}, ["labels"]),
    ],
)
def test_patch_host_validation(
    api: Api, admin: httpx.Client, body: dict[str, object], loc: list[str]
) -> None:
    name = api.host(labels={"env": "prod"})
    assert loc in locs(problem_of(admin.patch(f"/api/v1/hosts/{name}", json=body), 422))
    assert api.get_host(name)["labels"] == {"env": "prod"}


def test_patch_host_parents(api: Api, admin: httpx.Client) -> None:
    parent, child = api.host(), api.host()
    r = admin.patch(f"/api/v1/hosts/{child}", json={"parents": [child]})
    assert locs(problem_of(r, 422)) == [["parents"]]
    r = admin.patch(f"/api/v1/hosts/{child}", json={"parents": [parent]})
    assert r.status_code == 200, r.text
    assert api.get_host(child)["parents"] == [parent]


def test_patch_host_parents_may_not_make_a_loop(api: Api, admin: httpx.Client) -> None:
    a = api.host()
    b = api.host(parents=[a])
    c = api.host(parents=[b])
    for host, parents in ((a, [c]), (a, [b]), (b, [c])):
        r = admin.patch(f"/api/v1/hosts/{host}", json={"parents": parents})
        assert locs(problem_of(r, 422)) == [["parents"]]
    assert api.get_host(a)["parents"] == []
    # everything stays deletable, children first
    for host in (c, b, a):
        assert admin.delete(f"/api/v1/hosts/{host}").status_code == 204


def test_delete_host_removes_it_and_its_services(api: Api, admin: httpx.Client) -> None:
    host, svc = api.host_with_service("cpu")
    r = admin.delete(f"/api/v1/hosts/{host}")
    assert r.status_code == 204
    assert r.content == b""
    problem_of(admin.get(f"/api/v1/hosts/{host}"), 404)
    problem_of(admin.get(f"/api/v1/hosts/{host}/services/{svc}"), 404)
    problem_of(api.submit({"host": host, "service": svc, "state": 0}), 422)
    # the name is free again
    api.host(name=host)
    assert api.get_host(host)["services"]["total"] == 0


def test_deleting_a_parent_is_refused(api: Api, admin: httpx.Client) -> None:
    parent = api.host()
    child = api.host(parents=[parent])
    problem = problem_of(admin.delete(f"/api/v1/hosts/{parent}"), 409)
    assert child in problem["detail"]
    api.get_host(parent)
    assert admin.delete(f"/api/v1/hosts/{child}").status_code == 204
    assert admin.delete(f"/api/v1/hosts/{parent}").status_code == 204


def test_host_parent_down_makes_child_unreachable(api: Api) -> None:
    parent = api.host()
    child = api.host(parents=[parent])
    api.result(parent, None, "DOWN")
    api.result(child, None, 1)
    view = api.get_host(child)
    assert view["state"] == 2
    assert view["state_name"] == "UNREACHABLE"


# ---------------------------------------------------------------------- services
def test_service_crud(api: Api, admin: httpx.Client) -> None:
    host = api.host()
    r = admin.post(
        f"/api/v1/hosts/{host}/services",
        json={"name": "cpu", "max_check_attempts": 2, "labels": {"tier": "1"}},
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/api/v1/hosts/{host}/services/cpu"
    body = r.json()
    assert (body["host"], body["name"], body["max_check_attempts"]) == (host, "cpu", 2)
    assert body["passive"] is True
    assert body["state_name"] == "PENDING"
    # defaults come from the site's [services] settings
    r = admin.post(f"/api/v1/hosts/{host}/services", json={"name": "mem"})
    assert r.json()["max_check_attempts"] == 3
    assert r.json()["check_interval"] == 60.0

    problem_of(admin.post(f"/api/v1/hosts/{host}/services", json={"name": "cpu"}), 409)

    r = admin.patch(
        f"/api/v1/hosts/{host}/services/cpu",
        json={"max_check_attempts": 5, "labels": {"tier": "2"}},
    )
    assert r.status_code == 200, r.text
    view = api.svc(host, "cpu")
    assert view["max_check_attempts"] == 5
    assert view["labels"] == {"tier": "2"}

    listed = admin.get(f"/api/v1/hosts/{host}/services").json()
    assert listed["total"] == 2
    assert {s["name"] for s in listed["items"]} == {"cpu", "mem"}
    assert api.get_host(host)["services"]["total"] == 2

    assert admin.delete(f"/api/v1/hosts/{host}/services/cpu").status_code == 204
    problem_of(admin.get(f"/api/v1/hosts/{host}/services/cpu"), 404)
    problem_of(admin.delete(f"/api/v1/hosts/{host}/services/cpu"), 404)
    problem_of(admin.patch(f"/api/v1/hosts/{host}/services/cpu", json={}), 404)
    assert api.get_host(host)["services"]["total"] == 1


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["name"]),
        ({"name": "bad\nname"}, ["name"]),
        ({"name": "ok", "max_check_attempts": 101}, ["max_check_attempts"]),
        ({"name": "ok", "stale_after": -1}, ["stale_after"]),
        ({"name": "ok", "labels": {"": "x"}}, ["labels"]),
        ({"name": "ok", "host": "other"}, ["host"]),
    ],
)
def test_service_body_validation(
    api: Api, admin: httpx.Client, body: dict[str, object], loc: list[str]
) -> None:
    host = api.host()
    r = admin.post(f"/api/v1/hosts/{host}/services", json=body)
    assert loc in locs(problem_of(r, 422))


@pytest.mark.parametrize(
    "name", ["Filesystem /var", "Filesystem /", "/", "a//b", "Disk C:\\ 50% #1 ?x=y"]
)
def test_service_names_with_slashes_and_odd_characters(
    api: Api, admin: httpx.Client, name: str
) -> None:
    host = api.host()
    r = admin.post(f"/api/v1/hosts/{host}/services", json={"name": name})
    assert r.status_code == 201, r.text
    path = f"/api/v1/hosts/{host}/services/{quote(name, safe='/')}"
    assert r.headers["location"] == path
    assert admin.get(r.headers["location"]).json()["name"] == name
    api.result(host, name, "CRIT", summary="full")
    assert admin.get(path).json()["state_name"] == "CRIT"
    r = admin.patch(path, json={"max_check_attempts": 7})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == name
    assert admin.get(path).json()["max_check_attempts"] == 7
    assert admin.delete(path).status_code == 204
    problem_of(admin.get(path), 404)


def test_delete_service_drops_its_comments(api: Api, admin: httpx.Client) -> None:
    host, svc = api.host_with_service()
    r = admin.post(
        "/api/v1/actions/comment", json={"host": host, "service": svc, "comment": "note"}
    )
    assert r.status_code == 200
    assert admin.delete(f"/api/v1/hosts/{host}/services/{svc}").status_code == 204
    assert admin.get("/api/v1/comments", params={"host": host}).json()["items"] == []


def test_delete_service_drops_its_downtimes(api: Api, admin: httpx.Client) -> None:
    host, svc = api.host_with_service()
    now = time.time()
    r = admin.post(
        "/api/v1/actions/schedule-downtime",
        json={"host": host, "service": svc, "start": now, "end": now + 600},
    )
    assert r.status_code == 200
    assert admin.delete(f"/api/v1/hosts/{host}/services/{svc}").status_code == 204
    api.service(host, svc)
    assert api.svc(host, svc)["in_downtime"] is False
    assert admin.get("/api/v1/downtimes", params={"host": host}).json()["items"] == []


def test_services_with_a_common_prefix_are_distinct(api: Api, admin: httpx.Client) -> None:
    host = api.host()
    api.service(host, "Filesystem /")
    api.service(host, "Filesystem /var")
    api.result(host, "Filesystem /var", 2)
    assert api.svc(host, "Filesystem /")["state"] == 0
    assert api.svc(host, "Filesystem /var")["state"] == 2
    assert admin.delete(f"/api/v1/hosts/{host}/services/Filesystem /").status_code == 204
    assert api.svc(host, "Filesystem /var")["state"] == 2


def test_list_services_filters(api: Api, admin: httpx.Client) -> None:
    tag = unique("ls")
    h1 = api.host(name=f"{tag}-1", labels={"suite": tag, "env": "prod"})
    h2 = api.host(name=f"{tag}-2", labels={"suite": tag, "env": "test"})
    api.service(h1, "ok", max_check_attempts=3)
    api.service(h1, "soft", max_check_attempts=3)
    api.service(h1, "hard", max_check_attempts=1, labels={"env": "special"})
    api.service(h2, "acked", max_check_attempts=1)
    api.service(h2, "warn", max_check_attempts=1)
    r = api.submit(
        {"host": h1, "service": "ok", "state": 0},
        {"host": h1, "service": "soft", "state": 2},
        {"host": h1, "service": "hard", "state": 2},
        {"host": h2, "service": "acked", "state": 2},
        {"host": h2, "service": "warn", "state": 1},
    )
    assert r.status_code == 200, r.text
    r = admin.post("/api/v1/actions/acknowledge", json={"host": h2, "service": "acked"})
    assert r.status_code == 200, r.text

    def names(**params: object) -> set[str]:
        r = admin.get("/api/v1/services", params={"label": f"suite={tag}", **params})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == len(body["items"])
        return {f"{s['host'][-1]}:{s['name']}" for s in body["items"]}

    assert names() == {"1:ok", "1:soft", "1:hard", "2:acked", "2:warn"}
    assert names(host=h1) == {"1:ok", "1:soft", "1:hard"}
    assert names(state="crit") == {"1:soft", "1:hard", "2:acked"}
    assert names(state=["warn", "0"]) == {"1:ok", "2:warn"}
    assert names(state_type="soft") == {"1:soft"}
    assert names(state_type="hard", state="2") == {"1:hard", "2:acked"}
    assert names(problems="true") == {"1:soft", "1:hard", "2:acked", "2:warn"}
    assert names(problems="true", handled="false") == {"1:soft", "1:hard", "2:warn"}
    assert names(handled="true") == {"2:acked"}
    assert names(name="war") == {"2:warn"}
    # a service label overrides its host's label of the same key
    assert names(label=[f"suite={tag}", "env=prod"]) == {"1:ok", "1:soft"}
    assert names(label=[f"suite={tag}", "env=special"]) == {"1:hard"}
    # problems come unhandled first, then worst first
    r = admin.get("/api/v1/services", params={"label": f"suite={tag}", "problems": "true"})
    items = r.json()["items"]
    assert [(s["handled"], s["state"]) for s in items] == [
        (False, 2),
        (False, 2),
        (False, 1),
        (True, 2),
    ]
    problem_of(admin.get("/api/v1/services", params={"state_type": "medium"}), 422)


def test_host_view_counts_service_states(api: Api) -> None:
    host = api.host()
    for name in ("a", "b", "c"):
        api.service(host, name, max_check_attempts=1)
    r = api.submit(
        {"host": host, "service": "a", "state": 1}, {"host": host, "service": "b", "state": 2}
    )
    assert r.status_code == 200
    assert api.get_host(host)["services"] == {
        "total": 3,
        "ok": 1,
        "warn": 1,
        "crit": 1,
        "unknown": 0,
    }


# ---------------------------------------------------------------------- active checks
@pytest.mark.parametrize(
    ("check", "loc"),
    [
        ({"type": "tcp", "port": "abc"}, ["check", "port"]),
        ({"type": "tcp", "port": 70000}, ["check", "port"]),
        ({"type": "tcp"}, ["check", "port"]),
        ({"type": "nope"}, ["check", "type"]),
        ({"port": 80}, ["check", "type"]),
        ({"type": "http", "url": "ftp://x"}, ["check", "url"]),
        ({"type": "http", "expect_status": [99]}, ["check", "expect_status", 0]),
        ({"type": "tcp", "port": 80, "bogus": 1}, ["check", "bogus"]),
    ],
)
def test_invalid_active_check_is_422_under_check(
    api: Api, admin: httpx.Client, check: dict[str, object], loc: list[object]
) -> None:
    host = api.host()
    r = admin.post(f"/api/v1/hosts/{host}/services", json={"name": "web", "check": check})
    assert loc in locs(problem_of(r, 422))
    problem_of(admin.get(f"/api/v1/hosts/{host}/services/web"), 404)
    r = admin.post("/api/v1/hosts", json={"name": unique(), "check": check})
    assert loc in locs(problem_of(r, 422))
    api.service(host, "web")
    r = admin.patch(f"/api/v1/hosts/{host}/services/web", json={"check": check})
    assert loc in locs(problem_of(r, 422))
    assert api.svc(host, "web")["passive"] is True


def test_active_tcp_check_runs_on_recheck(api: Api, admin: httpx.Client, site: LiveSite) -> None:
    port = int(site.url.rsplit(":", 1)[1])
    host = api.host(address="127.0.0.1")
    r = admin.post(
        f"/api/v1/hosts/{host}/services",
        json={"name": "api port", "check": {"type": "tcp", "port": port}, "check_interval": 3600},
    )
    assert r.status_code == 201, r.text
    assert r.json()["passive"] is False
    assert r.json()["check"]["port"] == port
    r = admin.post("/api/v1/actions/recheck", json={"host": host, "service": "api port"})
    assert r.status_code == 200, r.text
    view = wait_for(lambda: (v := api.svc(host, "api port"))["checked"] and v)
    assert view["state_name"] == "OK", view
    # switching it back to passive
    r = admin.patch(f"/api/v1/hosts/{host}/services/api port", json={"check": None})
    assert r.status_code == 200, r.text
    assert r.json()["passive"] is True


# ---------------------------------------------------------------------- dependencies
def test_service_dependencies_are_kept_checked_and_shown(admin: httpx.Client, api: Api) -> None:
    host = api.host()
    api.service(host, "Kubelet")
    r = admin.post(
        f"/api/v1/hosts/{host}/services",
        json={"name": "Filesystem", "depends_on": [{"host": host, "service": "Kubelet"}]},
    )
    assert r.status_code == 201, r.text
    assert r.json()["depends_on"] == [{"host": host, "service": "Kubelet"}]
    kubelet = admin.get(f"/api/v1/hosts/{host}/services/Kubelet").json()
    assert kubelet["affects"] == [f"{host}/Filesystem"]

    # Kubelet cannot depend on Filesystem: the two would silence each other for good
    r = admin.patch(
        f"/api/v1/hosts/{host}/services/Kubelet",
        json={"depends_on": [{"host": host, "service": "Filesystem"}]},
    )
    problem = problem_of(r, 422)
    assert locs(problem) == [["depends_on", 0]]
    assert "a cycle" in problem["errors"][0]["msg"]
    r = admin.post(
        f"/api/v1/hosts/{host}/services",
        json={"name": "Pods", "depends_on": [{"host": host, "service": "nope"}]},
    )
    assert "no service" in problem_of(r, 422)["errors"][0]["msg"]

    submitted = admin.post(
        "/api/v1/results",
        json={
            "results": [
                {"host": host, "service": "Filesystem", "state": 3, "summary": "no stats"},
                {"host": host, "service": "Kubelet", "state": 2, "summary": "unreachable"},
            ]
        },
    )
    assert submitted.status_code in (200, 202), submitted.text
    fs = admin.get(f"/api/v1/hosts/{host}/services/Filesystem").json()
    assert (fs["cause"], fs["handled"]) == (f"{host}/Kubelet", True)

    r = admin.patch(f"/api/v1/hosts/{host}/services/Filesystem", json={"depends_on": []})
    assert r.status_code == 200, r.text
    assert (r.json()["depends_on"], r.json()["cause"], r.json()["handled"]) == ([], None, False)
