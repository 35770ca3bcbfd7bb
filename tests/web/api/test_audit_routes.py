"""The audit log through the real API: who, from where, before and after, no secrets, one
entry per bulk operation, admins only, nothing to change or delete, a chain that verifies."""

from __future__ import annotations

import json
from typing import Any

import httpx
from webapi import Api, problem_of, unique

from livesite import LiveSite
from lookout.domain import audit

CLI = {"X-Lookout-Client": "cli"}


def entries(admin: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    r = admin.get("/api/v1/audit", params=params)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def test_host_changes_are_recorded_with_before_and_after(admin: httpx.Client) -> None:
    host = unique("aud")
    r = admin.post("/api/v1/hosts", json={"name": host, "address": "10.0.0.1"}, headers=CLI)
    assert r.status_code == 201, r.text
    r = admin.patch(f"/api/v1/hosts/{host}", json={"address": "10.0.0.2"})
    assert r.status_code == 200, r.text
    r = admin.post(f"/api/v1/hosts/{host}/services", json={"name": "disk"})
    assert r.status_code == 201, r.text
    assert admin.delete(f"/api/v1/hosts/{host}").status_code == 204

    got = entries(admin, object=host)
    assert [(e["kind"], e["verb"], e["object"]) for e in got] == [
        ("host", "delete", host),
        ("service", "create", f"{host}/disk"),
        ("host", "change", host),
        ("host", "create", host),
    ]
    delete, _, change, create = got
    assert (create["actor"], create["channel"], create["address"]) == ("admin", "cli", "127.0.0.1")
    assert change["channel"] == "api"
    assert create["before"] is None
    assert create["after"]["address"] == "10.0.0.1"
    assert change["before"]["address"] == "10.0.0.1"
    assert change["after"]["address"] == "10.0.0.2"
    assert delete["before"]["address"] == "10.0.0.2"
    assert delete["after"] is None
    assert "1 services" in delete["summary"]


def test_actions_are_recorded_once_each(api: Api, admin: httpx.Client, site: LiveSite) -> None:
    person = unique("opal")
    assert admin.post("/api/v1/users", json={"name": person, "role": "operator"}).is_success
    host = api.host("aud")
    api.result(host, None, 1)
    with site.client(api.token("operator", person)) as operator:
        r = operator.post(
            "/api/v1/actions/acknowledge", json={"host": host, "comment": "on it"}, headers=CLI
        )
        assert r.status_code == 200, r.text
        r = operator.post("/api/v1/actions/comment", json={"host": host, "comment": "note"})
        assert r.status_code == 200, r.text
    (ack,) = entries(admin, object=host, kind="acknowledgement")
    assert (ack["verb"], ack["channel"], ack["actor"]) == ("create", "cli", person)
    assert ack["after"]["comment"] == "on it"
    assert ack["after"]["count"] == 1
    (note,) = entries(admin, object=host, kind="comment")
    assert (note["channel"], note["actor"], note["after"]["author"]) == ("api", person, person)


def test_secrets_never_appear(admin: httpx.Client, site: LiveSite) -> None:
    name = unique("hook")
    secret, header = "wh-" + unique("s") * 2, "Bearer " + unique("t")
    r = admin.post(
        "/api/v1/notifications/channels",
        json={
            "name": name,
            "spec": {
                "type": "webhook",
                "url": "https://u:pw9secret@hooks.example.org/x?key=abc",
                "secret": secret,
                "headers": {"Authorization": header},
            },
        },
    )
    assert r.status_code in (200, 201), r.text
    user = unique("u")
    password = "pw-" + unique("p")
    r = admin.post("/api/v1/users", json={"name": user, "role": "viewer", "password": password})
    assert r.status_code == 201, r.text
    r = admin.post("/api/v1/tokens", json={"name": "t", "user": user})
    token = r.json()["token"]
    assert admin.delete(f"/api/v1/notifications/channels/{name}").status_code == 204

    export = admin.get("/api/v1/audit.jsonl").text
    for s in (secret, header, password, token, "pw9secret", "key=abc"):
        assert s not in export
    (made,) = entries(admin, object=name, kind="channel", limit=1000)[-1:]
    assert made["after"]["secret"] == audit.REDACTED
    assert made["after"]["headers"] == {"Authorization": audit.REDACTED}
    (tok,) = entries(admin, kind="token", actor="admin", limit=1)
    assert tok["after"]["token"] == audit.REDACTED


def test_bulk_creation_is_one_entry(admin: httpx.Client) -> None:
    host = unique("bulk")
    services = [{"host": host, "name": f"s{i}"} for i in range(500)]
    r = admin.post("/api/v1/objects", json={"hosts": [{"name": host}], "services": services})
    assert r.status_code == 201, r.text
    got = entries(admin, kind="objects", limit=50)
    mine = [e for e in got if e["object"].startswith(host)]
    assert len(mine) == 1
    assert mine[0]["after"] == {"hosts": 1, "services": 500}
    assert entries(admin, object=host, kind="service") == []


def test_only_admins_read_and_nobody_changes(
    admin: httpx.Client, viewer: httpx.Client, operator: httpx.Client
) -> None:
    for client in (viewer, operator):
        problem_of(client.get("/api/v1/audit"), 403)
        problem_of(client.get("/api/v1/audit.jsonl"), 403)
        problem_of(client.get("/api/v1/audit/verify"), 403)
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert admin.request(method, "/api/v1/audit").status_code == 405
    problem_of(admin.get("/api/v1/audit", params={"channel": "fax"}), 422)
    problem_of(admin.get("/api/v1/audit", params={"since": "yesterday"}), 422)


def test_export_verifies_offline_and_verify_says_ok(admin: httpx.Client) -> None:
    admin.post("/api/v1/hosts", json={"name": unique("exp")})
    with admin.stream("GET", "/api/v1/audit.jsonl") as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/jsonl")
        rows = [json.loads(line) for line in r.iter_lines() if line]
    assert rows
    assert list(audit.verify(iter(rows), audit.GENESIS)) == []
    verdict = admin.get("/api/v1/audit/verify").json()
    assert verdict["ok"]
    assert verdict["rows"] >= len(rows)


def test_check_rules_and_remote_sites_are_recorded(admin: httpx.Client) -> None:
    remote, token = unique("dc"), "lk_" + unique("remote-secret")
    body = {"name": remote, "url": "https://127.0.0.1:1", "token": token}
    assert admin.post("/api/v1/remotes", json=body).status_code == 201
    assert admin.delete(f"/api/v1/remotes/{remote}").status_code == 204
    made, gone = reversed(entries(admin, kind="remote", object=remote))
    assert (made["verb"], gone["verb"]) == ("create", "delete")
    assert made["after"]["token"] == audit.REDACTED
    assert token not in admin.get("/api/v1/audit.jsonl", params={"kind": "remote"}).text
