"""``POST /api/v1/objects`` over real HTTP: many hosts and services at once, each refusal
named with its place, the good ones created and working."""

from __future__ import annotations

import httpx
import pytest
from webapi import Api, locs, problem_of, unique

pytestmark = pytest.mark.integration


def test_good_objects_are_created_and_bad_ones_named(admin: httpx.Client, api: Api) -> None:
    existing = api.host()
    a, b = unique("bulk"), unique("bulk")
    body = {
        "hosts": [
            {"name": a, "labels": {"env": "prod"}},
            {"name": b, "parents": [a]},  # a parent made in the same request
            {"name": existing},  # exists already
            {"name": unique("bulk"), "check_interval": -1},
        ],
        "services": [
            {"host": a, "name": "disk"},
            {"host": b, "name": "http", "check": {"type": "tcp", "port": 80}},
            {"host": b, "name": "fs", "depends_on": [{"host": a, "service": "disk"}]},
            {"host": a, "name": "disk"},  # twice
            {"host": unique("nohost"), "name": "x"},
            {"host": a, "name": "bad", "check": {"type": "tcp", "port": 0}},
        ],
    }
    r = admin.post("/api/v1/objects", json=body)
    assert r.status_code == 207, r.text
    out = r.json()
    assert out["created"] == {"hosts": 2, "services": 3}
    assert out["rejected"] == 5
    assert locs(out) == [
        ["hosts", 2, "name"],
        ["hosts", 3, "check_interval"],
        ["services", 3, "name"],
        ["services", 4, "host"],
        ["services", 5, "check", "port"],
    ]
    assert api.get_host(b)["parents"] == [a]
    fs = api.svc(b, "fs")
    assert fs["depends_on"] == [{"host": a, "service": "disk"}]
    api.result(a, "disk", 2, summary="full")  # the new services take results at once
    assert api.svc(a, "disk")["state"] == 2


def test_nothing_good_is_422_and_unknown_fields_are_named(admin: httpx.Client) -> None:
    r = admin.post("/api/v1/objects", json={"hosts": [{"name": ""}]})
    problem = problem_of(r, 422)
    assert locs(problem) == [["hosts", 0, "name"]]
    r = admin.post("/api/v1/objects", json={"hosts": [], "hostz": []})
    assert locs(problem_of(r, 422)) == [["hostz"]]


def test_viewers_cannot_create(viewer: httpx.Client) -> None:
    assert viewer.post("/api/v1/objects", json={"hosts": [{"name": unique()}]}).status_code == 403


def test_bad_names_and_a_refused_host_leave_nothing_half_made(admin: httpx.Client) -> None:
    good, bad = unique("bulk"), unique("bulk")
    body = {
        "hosts": [
            {"name": good},
            {"name": "..", "labels": {"env": "x"}},  # a name the CLI and URLs cannot address
            {"name": f"{bad}\x01"},  # a control character
            {"name": bad, "parents": [unique("nohost")]},  # refused: so are its services
        ],
        "services": [
            {"host": good, "name": " disk"},  # starts with white space
            {"host": bad, "name": "disk"},  # its host was refused
            {"host": good, "name": "ok"},
        ],
    }
    r = admin.post("/api/v1/objects", json=body)
    assert r.status_code == 207, r.text
    out = r.json()
    assert out["created"] == {"hosts": 1, "services": 1}
    assert locs(out) == [
        ["hosts", 1, "name"],
        ["hosts", 2, "name"],
        ["hosts", 3, "parents"],
        ["services", 0, "name"],
        ["services", 1, "host"],
    ]
    assert admin.get(f"/api/v1/hosts/{bad}").status_code == 404
    items = admin.get("/api/v1/services", params={"host": good}).json()["items"]
    assert [s["name"] for s in items] == ["ok"]
