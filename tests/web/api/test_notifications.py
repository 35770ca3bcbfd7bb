"""``/api/v1/notifications/*`` over real HTTP: validation with field paths, masked secrets,
dry runs, delivery history, and the Zulip outgoing-webhook endpoint."""

from __future__ import annotations

import httpx
import pytest
from webapi import Api, locs, problem_of, unique, wait_for

pytestmark = pytest.mark.integration


def zulip(name: str, token: str) -> dict[str, object]:
    return {
        "name": name,
        "spec": {
            "type": "zulip",
            "site": "https://chat.invalid",
            "email": "bot@chat.invalid",
            "api_key": "secret-key",
            "stream": "ops",
            "listen": False,
            "webhook_token": token,
        },
    }


def test_invalid_rule_and_channel_name_the_field(admin: httpx.Client) -> None:
    r = admin.post(
        "/api/v1/notifications/rules", json={"name": "x", "channels": ["c"], "states": ["BAD"]}
    )
    assert locs(problem_of(r, 422)) == [["states"]]
    r = admin.post(
        "/api/v1/notifications/channels",
        json={"name": "m", "spec": {"type": "email", "host": "smtp", "sender": "nope"}},
    )
    assert ["spec", "email", "sender"] in locs(problem_of(r, 422))


def test_channels_are_masked_and_keep_secrets(admin: httpx.Client) -> None:
    name = unique("z")
    r = admin.post("/api/v1/notifications/channels", json=zulip(name, "tok"))
    assert r.status_code == 200, r.text
    assert r.json()["spec"]["api_key"] == "********"
    r = admin.post("/api/v1/notifications/channels", json=r.json())  # masked values sent back
    assert r.status_code == 200, r.text
    items = admin.get("/api/v1/notifications/channels").json()["items"]
    assert any(c["name"] == name for c in items)


def test_a_rule_names_only_channels_that_exist(admin: httpx.Client) -> None:
    """A rule naming a missing channel would notify nobody, silently: it is refused."""
    ch, rule = unique("hook"), unique("r")
    spec = {"type": "webhook", "url": "http://127.0.0.1:9/x"}
    assert admin.post("/api/v1/notifications/channels", json={"name": ch, "spec": spec}).is_success
    r = admin.post("/api/v1/notifications/rules", json={"name": rule, "channels": [ch, "nope"]})
    body = problem_of(r, 422)
    assert locs(body) == [["channels", 1]]
    assert "channel 'nope' does not exist" in body["detail"]
    assert rule not in admin.get("/api/v1/notifications/rules").text


def test_a_channel_a_rule_names_is_not_removed(admin: httpx.Client) -> None:
    ch, rule = unique("hook"), unique("r")
    spec = {"type": "webhook", "url": "http://127.0.0.1:9/x"}
    assert admin.post("/api/v1/notifications/channels", json={"name": ch, "spec": spec}).is_success
    r = admin.post("/api/v1/notifications/rules", json={"name": rule, "channels": [ch]})
    assert r.status_code == 200, r.text
    body = problem_of(admin.delete(f"/api/v1/notifications/channels/{ch}"), 409)
    assert f"used by rule {rule}" in body["detail"]
    assert admin.delete(f"/api/v1/notifications/rules/{rule}").status_code == 204
    assert admin.delete(f"/api/v1/notifications/channels/{ch}").status_code == 204
    problem_of(admin.delete(f"/api/v1/notifications/channels/{ch}"), 404)


def test_viewer_cannot_change_rules(viewer: httpx.Client) -> None:
    r = viewer.post("/api/v1/notifications/rules", json={"name": "v", "channels": ["x"]})
    problem_of(r, 403)


def test_dry_run_and_history(api: Api, admin: httpx.Client) -> None:
    ch = unique("hook")
    r = admin.post(
        "/api/v1/notifications/channels",
        json={
            "name": ch,
            "spec": {"type": "webhook", "url": "http://127.0.0.1:9/x", "max_attempts": 1},
        },
    )
    assert r.status_code == 200, r.text
    host, svc = api.host_with_service()
    rule = unique("r")
    r = admin.post(
        "/api/v1/notifications/rules", json={"name": rule, "channels": [ch], "hosts": [host]}
    )
    assert r.status_code == 200, r.text
    dry = admin.post(
        "/api/v1/notifications/test", json={"rule": rule, "host": host, "service": svc}
    ).json()
    assert dry["deliveries"] == [{"rule": rule, "channel": ch, "recipient": "*", "delay": 0.0}]
    soft = admin.post(
        "/api/v1/notifications/test",
        json={"rule": rule, "host": host, "state": "DOWN", "state_type": "soft"},
    ).json()
    assert soft["deliveries"] == []
    assert "state type soft" in soft["trace"][0]["result"]
    api.result(host, svc, 2)
    rows = wait_for(
        lambda: admin.get(
            "/api/v1/notifications/deliveries", params={"host": host, "status": "failed"}
        ).json()["items"]
    )
    assert rows[0]["kind"] == "problem"
    assert "webhook" in rows[0]["error"]
    admin.delete(f"/api/v1/notifications/rules/{rule}")


def test_zulip_outgoing_webhook(api: Api, admin: httpx.Client) -> None:
    name = unique("zw")
    token = unique("t")
    user = unique("op")
    r = admin.post(
        "/api/v1/users", json={"name": user, "role": "operator", "email": f"{user}@x.org"}
    )
    assert r.status_code == 201, r.text
    assert admin.post("/api/v1/notifications/channels", json=zulip(name, token)).status_code == 200
    host, svc = api.host_with_service()
    api.result(host, svc, 2)
    url = f"/api/v1/notifications/zulip/{name}"
    message = {"sender_email": f"{user}@x.org", "type": "private", "content": ""}
    r = httpx.post(
        admin.base_url.join(url), json={"token": "wrong", "data": "help", "message": message}
    )
    assert r.status_code == 401
    body = {
        "token": token,
        "data": f"@**Lookout** ack {host}/{svc} on it",
        "trigger": "direct_message",
        "message": message,
    }
    r = httpx.post(admin.base_url.join(url), json=body)
    assert r.status_code == 200, r.text
    assert "Acknowledged" in r.json()["content"]
    assert api.svc(host, svc)["acknowledgement"]["author"] == user
    body["data"] = "@**Lookout** snooze"
    r = httpx.post(admin.base_url.join(url), json=body)
    assert "do not know the command 'snooze'" in r.json()["content"]
