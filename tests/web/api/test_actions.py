"""``/api/v1/actions/*`` over real HTTP: acknowledgements, downtimes, comments, rechecks, their
authors, and how they show in the object views, the lists and the event log."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from webapi import Api, locs, problem_of, unique, wait_for

from livesite import LiveSite

pytestmark = pytest.mark.integration


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def act(client: httpx.Client, action: str, **body: Any) -> dict[str, Any]:
    r = client.post(f"/api/v1/actions/{action}", json=body)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


# ---------------------------------------------------------------------- acknowledgements
def test_acknowledge_needs_a_problem(api: Api, admin: httpx.Client) -> None:
    host, svc = api.host_with_service()
    # pending (never checked) counts as OK
    problem_of(admin.post("/api/v1/actions/acknowledge", json={"host": host, "service": svc}), 409)
    api.result(host, svc, 0)
    problem_of(admin.post("/api/v1/actions/acknowledge", json={"host": host, "service": svc}), 409)
    assert api.svc(host, svc)["acknowledged"] is False


def test_acknowledge_unknown_objects_is_404(api: Api, admin: httpx.Client) -> None:
    host = api.host()
    problem_of(admin.post("/api/v1/actions/acknowledge", json={"host": unique("no")}), 404)
    problem_of(
        admin.post("/api/v1/actions/acknowledge", json={"host": host, "service": "nope"}), 404
    )
    problem_of(
        admin.post("/api/v1/actions/acknowledge", json={"labels": {"suite": unique("none")}}), 404
    )


def test_sticky_acknowledgement_survives_problem_changes(api: Api, admin: httpx.Client) -> None:
    host, svc = api.host_with_service(attempts=1)
    api.result(host, svc, "WARN")
    out = act(admin, "acknowledge", host=host, service=svc, sticky=True, comment="on it")
    assert out["objects"] == [{"host": host, "service": svc}]
    assert out["count"] == 1
    v = api.svc(host, svc)
    assert v["acknowledged"] is True
    assert v["handled"] is True
    assert v["acknowledgement"]["author"] == "admin"
    assert v["acknowledgement"]["comment"] == "on it"
    assert v["acknowledgement"]["sticky"] is True
    api.result(host, svc, "CRIT")
    assert api.svc(host, svc)["acknowledged"] is True
    api.result(host, svc, "WARN")
    assert api.svc(host, svc)["acknowledged"] is True
    api.result(host, svc, "OK")
    v = api.svc(host, svc)
    assert v["acknowledged"] is False
    assert v["acknowledgement"] is None
    # the ack's comment went with it
    comments = admin.get("/api/v1/comments", params={"host": host}).json()["items"]
    assert comments == []
    types = [e["type"] for e in api.events(host=host, service=svc, type=["ack_set", "ack_removed"])]
    assert types == ["ack_removed", "ack_set"]


def test_non_sticky_acknowledgement_clears_on_any_change(api: Api, admin: httpx.Client) -> None:
    host, svc = api.host_with_service(attempts=1)
    api.result(host, svc, "WARN")
    act(admin, "acknowledge", host=host, service=svc, sticky=False)
    api.result(host, svc, "WARN")
    assert api.svc(host, svc)["acknowledged"] is True
    api.result(host, svc, "CRIT")
    v = api.svc(host, svc)
    assert v["acknowledged"] is False
    assert v["handled"] is False


def test_acknowledge_a_host_and_list_acknowledgements(api: Api, admin: httpx.Client) -> None:
    host = api.host()
    api.result(host, None, "DOWN")
    act(admin, "acknowledge", host=host, comment="power cut", persistent=True)
    assert api.get_host(host)["acknowledged"] is True
    items = admin.get("/api/v1/acknowledgements", params={"host": host}).json()["items"]
    assert len(items) == 1
    assert items[0]["host"] == host
    assert items[0]["service"] is None
    assert items[0]["state"] == 1
    assert items[0]["author"] == "admin"
    assert items[0]["comment"] == "power cut"
    comments = admin.get("/api/v1/comments", params={"host": host}).json()["items"]
    assert [(c["kind"], c["text"], c["author"]) for c in comments] == [
        ("ack", "power cut", "admin")
    ]


def test_acknowledge_with_expiry(api: Api, admin: httpx.Client) -> None:
    host, svc = api.host_with_service()
    api.result(host, svc, 2)
    act(admin, "acknowledge", host=host, service=svc, expire_at=time.time() + 0.5)
    assert api.svc(host, svc)["acknowledged"] is True
    wait_for(lambda: not api.svc(host, svc)["acknowledged"], timeout=5)
    r = admin.post(
        "/api/v1/actions/acknowledge",
        json={"host": host, "service": svc, "expire_at": time.time() - 10},
    )
    assert locs(problem_of(r, 422)) == [["expire_at"]]


def test_remove_acknowledgement(api: Api, admin: httpx.Client) -> None:
    host, svc = api.host_with_service()
    api.result(host, svc, 2)
    problem_of(
        admin.post("/api/v1/actions/remove-acknowledgement", json={"host": host, "service": svc}),
        409,
    )
    act(admin, "acknowledge", host=host, service=svc)
    out = act(admin, "remove-acknowledgement", host=host, service=svc, comment="not mine")
    assert out["objects"] == [{"host": host, "service": svc}]
    assert api.svc(host, svc)["acknowledged"] is False
    [ev] = api.events(host=host, type="ack_removed")
    assert (ev["author"], ev["comment"]) == ("admin", "not mine")


def test_acknowledge_by_labels_takes_only_problems(api: Api, admin: httpx.Client) -> None:
    tag = unique("ackl")
    bad = api.host(labels={"suite": tag})
    good = api.host(labels={"suite": tag})
    api.result(bad, None, 1)
    api.result(good, None, 0)
    out = act(admin, "acknowledge", labels={"suite": tag})
    assert out["objects"] == [{"host": bad, "service": None}]
    assert api.get_host(bad)["acknowledged"] is True
    assert api.get_host(good)["acknowledged"] is False


# ---------------------------------------------------------------------- downtimes
def test_fixed_downtime_with_iso_times(api: Api, admin: httpx.Client) -> None:
    host, svc = api.host_with_service()
    now = time.time()
    out = act(
        admin,
        "schedule-downtime",
        host=host,
        start=iso(now - 60),
        end=iso(now + 3600),
        fixed=True,
        comment="patching",
    )
    [dt_id] = out["ids"]
    assert api.get_host(host)["in_downtime"] is True
    v = api.svc(host, svc)
    assert v["in_downtime"] is False
    assert v["host_in_downtime"] is True
    [dt] = admin.get("/api/v1/downtimes", params={"host": host}).json()["items"]
    assert dt["id"] == dt_id
    assert dt["active"] is True
    assert dt["start"] == pytest.approx(int(now - 60), abs=1)
    assert dt["end"] == pytest.approx(int(now + 3600), abs=1)
    assert (dt["author"], dt["comment"], dt["service"], dt["fixed"]) == (
        "admin",
        "patching",
        None,
        True,
    )


def test_downtime_with_unix_times_and_services(api: Api, admin: httpx.Client) -> None:
    host, svc = api.host_with_service()
    other = api.service(host, "other")
    now = time.time()
    act(
        admin,
        "schedule-downtime",
        host=host,
        start=now - 1,
        end=now + 3600,
        include_services=True,
        comment="rack move",
    )
    assert api.get_host(host)["in_downtime"] is True
    for name in (svc, other):
        v = api.svc(host, name)
        assert v["in_downtime"] is True
        assert v["handled"] is True
    # services created during the downtime are covered too
    late = api.service(host, "late")
    assert api.svc(host, late)["in_downtime"] is True
    r = admin.get("/api/v1/services", params={"host": host, "handled": "true"})
    assert r.json()["total"] == 3


def test_service_downtime(api: Api, admin: httpx.Client) -> None:
    host, svc = api.host_with_service()
    other = api.service(host, "other")
    now = time.time()
    act(
        admin,
        "schedule-downtime",
        host=host,
        service=svc,
        start=now,
        end=now + 600,
        include_services=True,
    )
    assert api.svc(host, svc)["in_downtime"] is True
    assert api.svc(host, other)["in_downtime"] is False
    assert api.get_host(host)["in_downtime"] is False


def test_future_downtime_is_not_active(api: Api, admin: httpx.Client) -> None:
    host = api.host()
    now = time.time()
    act(admin, "schedule-downtime", host=host, start=now + 3600, end=now + 7200)
    assert api.get_host(host)["in_downtime"] is False
    [dt] = admin.get("/api/v1/downtimes", params={"host": host}).json()["items"]
    assert dt["active"] is False
    assert dt["started_at"] is None


def test_fixed_downtime_ends_by_itself(api: Api, admin: httpx.Client) -> None:
    host = api.host()
    now = time.time()
    act(admin, "schedule-downtime", host=host, start=now - 5, end=now + 0.6)
    assert api.get_host(host)["in_downtime"] is True
    wait_for(lambda: not api.get_host(host)["in_downtime"], timeout=5)
    assert admin.get("/api/v1/downtimes", params={"host": host}).json()["items"] == []
    types = {e["type"] for e in api.events(host=host)}
    assert {"downtime_scheduled", "downtime_start", "downtime_end"} <= types


def test_flexible_downtime_starts_with_the_problem(api: Api, admin: httpx.Client) -> None:
    host, svc = api.host_with_service(attempts=1)
    api.result(host, svc, 0)
    now = time.time()
    act(
        admin,
        "schedule-downtime",
        host=host,
        service=svc,
        start=now - 10,
        end=now + 3600,
        fixed=False,
        duration=600,
    )
    assert api.svc(host, svc)["in_downtime"] is False
    [dt] = admin.get("/api/v1/downtimes", params={"host": host}).json()["items"]
    assert (dt["active"], dt["fixed"], dt["duration"]) == (False, False, 600.0)
    api.result(host, svc, 2)
    v = api.svc(host, svc)
    assert v["in_downtime"] is True
    assert v["handled"] is True
    [dt] = admin.get("/api/v1/downtimes", params={"host": host}).json()["items"]
    assert dt["active"] is True
    assert dt["ends_at"] == pytest.approx(dt["started_at"] + 600)
    # the hard problem it covers does not notify
    [change] = [
        e for e in api.events(host=host, service=svc, type="state_change") if e["state"] == 2
    ]
    assert change["data"]["notify"] is False


def test_flexible_downtime_on_an_existing_problem_starts_at_once(
    api: Api, admin: httpx.Client
) -> None:
    host, svc = api.host_with_service(attempts=1)
    api.result(host, svc, 2)
    now = time.time()
    act(
        admin,
        "schedule-downtime",
        host=host,
        service=svc,
        start=now - 10,
        end=now + 3600,
        fixed=False,
        duration=60,
    )
    assert api.svc(host, svc)["in_downtime"] is True


def test_recurring_downtime(api: Api, admin: httpx.Client) -> None:
    host = api.host()
    now = time.time()
    out = act(
        admin,
        "schedule-downtime",
        host=host,
        start=now + 60,
        end=now + 120,
        recurrence="0 2 * * 0",
        comment="weekly",
    )
    [dt] = admin.get("/api/v1/downtimes", params={"host": host}).json()["items"]
    assert dt["id"] == out["ids"][0]
    assert dt["recurrence"] == "0 2 * * 0"
    # a recurring downtime may begin in the past
    act(
        admin,
        "schedule-downtime",
        host=host,
        start=now - 7200,
        end=now - 3600,
        recurrence="0 * * * *",
    )
    r = admin.post(
        "/api/v1/actions/schedule-downtime",
        json={"host": host, "start": now, "end": now + 60, "recurrence": "bad"},
    )
    assert locs(problem_of(r, 422)) == [["recurrence"]]
    r = admin.post(
        "/api/v1/actions/schedule-downtime",
        json={"host": host, "start": now, "end": now + 60, "recurrence": "0 2 * * * *"},
    )
    assert locs(problem_of(r, 422)) == [["recurrence"]]


def test_remove_downtime_by_id_and_by_host(api: Api, admin: httpx.Client) -> None:
    host, svc = api.host_with_service()
    now = time.time()
    [first] = act(admin, "schedule-downtime", host=host, start=now, end=now + 600)["ids"]
    [second] = act(admin, "schedule-downtime", host=host, service=svc, start=now, end=now + 600)[
        "ids"
    ]
    [third] = act(admin, "schedule-downtime", host=host, start=now + 60, end=now + 600)["ids"]
    out = act(admin, "remove-downtime", ids=[first], comment="done early")
    assert out["ids"] == [first]
    assert api.get_host(host)["in_downtime"] is False
    assert api.svc(host, svc)["in_downtime"] is True
    [cancel] = api.events(host=host, type="downtime_cancel")
    assert (cancel["author"], cancel["comment"]) == ("admin", "done early")
    assert cancel["data"]["downtime_id"] == first
    problem_of(admin.post("/api/v1/actions/remove-downtime", json={"ids": [first]}), 404)
    # by host and service: only that service's
    out = act(admin, "remove-downtime", host=host, service=svc)
    assert out["ids"] == [second]
    assert api.svc(host, svc)["in_downtime"] is False
    # by host: all the rest
    out = act(admin, "remove-downtime", host=host)
    assert out["ids"] == [third]
    assert admin.get("/api/v1/downtimes", params={"host": host}).json()["items"] == []
    problem_of(admin.post("/api/v1/actions/remove-downtime", json={"host": host}), 404)


def test_downtime_by_labels(api: Api, admin: httpx.Client) -> None:
    tag = unique("dtl")
    a = api.host(labels={"suite": tag, "rack": "1"})
    b = api.host(labels={"suite": tag, "rack": "1"})
    c = api.host(labels={"suite": tag, "rack": "2"})
    for h in (a, b, c):
        api.service(h, "svc")
    now = time.time()
    out = act(
        admin, "schedule-downtime", labels={"suite": tag, "rack": "1"}, start=now, end=now + 600
    )
    assert sorted(o["host"] for o in out["objects"]) == sorted([a, b])
    assert {o["service"] for o in out["objects"]} == {None}
    assert len(out["ids"]) == 2
    assert [api.get_host(h)["in_downtime"] for h in (a, b, c)] == [True, True, False]
    assert api.svc(a, "svc")["in_downtime"] is False
    # with the hosts' services
    out = act(
        admin,
        "schedule-downtime",
        labels={"suite": tag, "rack": "2"},
        services=True,
        start=now,
        end=now + 600,
    )
    assert len(out["ids"]) == 2
    assert api.svc(c, "svc")["in_downtime"] is True
    r = admin.get("/api/v1/hosts", params={"label": f"suite={tag}"})
    assert all(h["in_downtime"] for h in r.json()["items"])


def test_downtime_by_group(api: Api, admin: httpx.Client) -> None:
    group = unique("grp")
    a = api.host(groups=[group])
    b = api.host()
    now = time.time()
    out = act(admin, "schedule-downtime", group=group, start=now, end=now + 600)
    assert out["objects"] == [{"host": a, "service": None}]
    assert api.get_host(b)["in_downtime"] is False


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"host": "HOST", "start": 200, "end": 100}, ["end"]),
        ({"host": "HOST", "start": 100, "end": 100}, ["end"]),
        ({"host": "HOST", "start": "NOW", "end": "NOW+600", "fixed": False}, ["duration"]),
        (
            {"host": "HOST", "start": "NOW", "end": "NOW+600", "fixed": False, "duration": 0},
            ["duration"],
        ),
        ({"start": "NOW", "end": "NOW+600"}, ["host"]),
        ({"service": "svc", "start": "NOW", "end": "NOW+600"}, ["host"]),
        ({"host": "HOST", "labels": {"a": "b"}, "start": "NOW", "end": "NOW+600"}, ["labels"]),
        ({"host": "HOST", "end": "NOW+600"}, ["start"]),
        ({"host": "HOST", "start": "tomorrow", "end": "NOW+600"}, ["start"]),
        ({"host": "HOST", "start": "2030-01-01T00:00:00", "end": "NOW+600"}, ["start"]),
        ({"host": "HOST", "start": "NOW", "end": True}, ["end"]),
        ({"host": "HOST", "start": "NOW-600", "end": "NOW-60"}, ["end"]),
        ({"host": "HOST", "start": "NOW", "end": "NOW+600", "bogus": 1}, ["bogus"]),
    ],
)
def test_bad_downtime_bodies_name_the_field(
    api: Api, admin: httpx.Client, body: dict[str, Any], loc: list[str]
) -> None:
    host = api.host()
    now = time.time()
    subst = {
        "HOST": host,
        "NOW": now,
        "NOW+600": now + 600,
        "NOW-600": now - 600,
        "NOW-60": now - 60,
    }
    body = {k: subst.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    problem = problem_of(admin.post("/api/v1/actions/schedule-downtime", json=body), 422)
    assert locs(problem) == [loc]
    assert admin.get("/api/v1/downtimes", params={"host": host}).json()["items"] == []


@pytest.mark.parametrize(
    ("action", "body", "loc"),
    [
        ("acknowledge", {}, ["host"]),
        ("acknowledge", {"host": "x", "sticky": "maybe"}, ["sticky"]),
        ("remove-acknowledgement", {"service": "x"}, ["host"]),
        ("remove-downtime", {}, ["ids"]),
        ("remove-downtime", {"ids": ["one"]}, ["ids", 0]),
        ("comment", {"host": "x"}, ["comment"]),
        ("comment", {"host": "x", "comment": ""}, ["comment"]),
        ("recheck", {"group": "a/b"}, ["group"]),
    ],
)
def test_bad_action_bodies_name_the_field(
    admin: httpx.Client, action: str, body: dict[str, Any], loc: list[Any]
) -> None:
    assert locs(problem_of(admin.post(f"/api/v1/actions/{action}", json=body), 422)) == [loc]


# ---------------------------------------------------------------------- comments, recheck
def test_comment(api: Api, admin: httpx.Client) -> None:
    host, svc = api.host_with_service()
    out = act(admin, "comment", host=host, service=svc, comment="disk ordered")
    [cid] = out["ids"]
    [c] = admin.get("/api/v1/comments", params={"host": host, "service": svc}).json()["items"]
    assert (c["id"], c["text"], c["author"], c["kind"], c["service"]) == (
        cid,
        "disk ordered",
        "admin",
        "user",
        svc,
    )
    act(admin, "comment", host=host, comment="host note")
    host_only = admin.get("/api/v1/comments", params={"host": host, "service": ""}).json()
    assert [c["text"] for c in host_only["items"]] == ["host note"]
    problem_of(
        admin.post(
            "/api/v1/actions/comment", json={"host": host, "service": "nope", "comment": "x"}
        ),
        404,
    )
    r = admin.post("/api/v1/actions/comment", json={"host": host, "comment": "   "})
    assert locs(problem_of(r, 422)) == [["comment"]]


def test_recheck(api: Api, admin: httpx.Client) -> None:
    host, passive = api.host_with_service()
    r = admin.post("/api/v1/actions/recheck", json={"host": host, "service": passive})
    assert "passive" in problem_of(r, 409)["detail"]
    svc = api.service(host, "tcp", check={"type": "tcp", "port": 9, "host": "127.0.0.1"})
    out = act(admin, "recheck", host=host, service=svc, comment="please")
    assert out["objects"] == [{"host": host, "service": svc}]
    [ev] = api.events(host=host, type="recheck")
    assert (ev["service"], ev["author"], ev["comment"]) == (svc, "admin", "please")
    problem_of(admin.post("/api/v1/actions/recheck", json={"host": unique("no")}), 404)


# ---------------------------------------------------------------------- authors and roles
def test_author_is_the_tokens_user(api: Api, site: LiveSite) -> None:
    user = unique("op")
    r = api.c.post("/api/v1/users", json={"name": user, "role": "operator"})
    assert r.status_code == 201, r.text
    host, svc = api.host_with_service()
    api.result(host, svc, 2)
    with site.client(api.token("operator", user=user)) as op:
        act(op, "acknowledge", host=host, service=svc, comment="mine")
        assert api.svc(host, svc)["acknowledgement"]["author"] == user
        act(op, "comment", host=host, comment="hello", author=user)
        r = op.post(
            "/api/v1/actions/comment",
            json={"host": host, "comment": "as someone else", "author": "alice"},
        )
        problem_of(r, 403)
        r = op.post(
            "/api/v1/actions/schedule-downtime",
            json={"host": host, "start": time.time(), "end": time.time() + 60, "author": "alice"},
        )
        problem_of(r, 403)
    assert nothing_refused_was_applied(api, host)
    authors = {
        (e["type"], e["author"])
        for e in api.events(host=host)
        if e["type"] in ("ack_set", "comment")
    }
    assert authors == {("ack_set", user), ("comment", user)}


def nothing_refused_was_applied(api: Api, host: str) -> bool:
    r = api.c.get("/api/v1/downtimes", params={"host": host})
    comments = api.c.get("/api/v1/comments", params={"host": host}).json()["items"]
    return r.json()["items"] == [] and "as someone else" not in {c["text"] for c in comments}


def test_admin_may_act_for_another_author(api: Api, admin: httpx.Client) -> None:
    host = api.host()
    now = time.time()
    act(
        admin,
        "schedule-downtime",
        host=host,
        start=now,
        end=now + 60,
        author="alice",
        comment="for alice",
    )
    [dt] = admin.get("/api/v1/downtimes", params={"host": host}).json()["items"]
    assert dt["author"] == "alice"
    [ev] = api.events(host=host, type="downtime_scheduled")
    assert (ev["author"], ev["comment"]) == ("alice", "for alice")


def test_viewer_may_not_act(api: Api, viewer: httpx.Client, site: LiveSite) -> None:
    host, svc = api.host_with_service()
    api.result(host, svc, 2)
    for action, body in (
        ("acknowledge", {"host": host, "service": svc}),
        ("comment", {"host": host, "comment": "x"}),
        ("recheck", {"host": host}),
        ("schedule-downtime", {"host": host, "start": time.time(), "end": time.time() + 60}),
        ("remove-downtime", {"host": host}),
    ):
        problem_of(viewer.post(f"/api/v1/actions/{action}", json=body), 403)
        problem_of(httpx.post(f"{site.url}/api/v1/actions/{action}", json=body), 401)
    assert api.svc(host, svc)["acknowledged"] is False
    # but it may read
    assert viewer.get("/api/v1/events", params={"host": host}).status_code == 200
    assert viewer.get("/api/v1/downtimes").status_code == 200
    assert viewer.get("/api/v1/acknowledgements").status_code == 200
    assert viewer.get("/api/v1/comments").status_code == 200


def test_operator_may_act(api: Api, operator: httpx.Client) -> None:
    host, svc = api.host_with_service()
    api.result(host, svc, 2)
    act(operator, "acknowledge", host=host, service=svc)
    assert api.svc(host, svc)["acknowledged"] is True


# ---------------------------------------------------------------------- the event log
def test_event_log_filters(api: Api, admin: httpx.Client) -> None:
    host, svc = api.host_with_service(attempts=1)
    t0 = time.time()
    api.result(host, svc, 2, summary="broken")
    api.result(host, None, 1)
    act(admin, "acknowledge", host=host, service=svc, comment="ack!")
    act(admin, "comment", host=host, comment="note")
    time.sleep(0.05)
    t1 = time.time()
    time.sleep(0.05)
    act(admin, "schedule-downtime", host=host, start=t1, end=t1 + 600, author="bob")

    every = api.events(host=host)
    assert [e["type"] for e in every] == [
        "downtime_start",
        "downtime_scheduled",
        "comment",
        "ack_set",
        "state_change",
        "state_change",
    ]
    assert all(e["host"] == host for e in every)
    assert [e["at"] for e in every] == sorted((e["at"] for e in every), reverse=True)
    [svc_change] = api.events(host=host, service=svc, type="state_change")
    assert (svc_change["state"], svc_change["state_type"], svc_change["summary"]) == (
        2,
        "hard",
        "broken",
    )
    assert svc_change["data"]["old_state"] == 0
    assert svc_change["data"]["hard_change"] is True
    host_events = api.events(host=host, service="")
    assert {e["service"] for e in host_events} == {None}
    assert [e["type"] for e in host_events] == [
        "downtime_start",
        "downtime_scheduled",
        "comment",
        "state_change",
    ]
    by_type = api.events(host=host, type=["comment", "ack_set"])
    assert [(e["type"], e["author"], e["comment"]) for e in by_type] == [
        ("comment", "admin", "note"),
        ("ack_set", "admin", "ack!"),
    ]
    after = api.events(host=host, start=t1)
    assert [(e["type"], e["author"]) for e in after] == [
        ("downtime_start", "bob"),
        ("downtime_scheduled", "bob"),
    ]
    before = api.events(host=host, end=t1)
    assert "downtime_scheduled" not in {e["type"] for e in before}
    assert len(before) == 4
    assert len(api.events(host=host, start=iso(t0 - 60), end=iso(t1 + 3600))) == 6
    assert len(api.events(host=host, limit=2)) == 2
    assert api.events(host=host, type="flapping_start") == []
    problem = problem_of(admin.get("/api/v1/events", params={"start": "last tuesday"}), 422)
    assert locs(problem) == [["start"]]
