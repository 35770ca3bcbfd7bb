"""A central site over real remote sites (issue 12): three ``lookout serve`` processes, one
remote behind TLS checked against its CA, one over plain http (allowed), plus a remote that
answers garbage and one that never answers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from webapi import problem_of, wait_for

from centralnet import FixedAnswers, Silent, TlsFront, make_cert, start_all
from livesite import LiveSite, free_port, make_site

pytestmark = pytest.mark.integration


@dataclass
class Sites:
    central: LiveSite
    dc2: LiveSite
    dc3: LiveSite
    hq: httpx.Client
    dc2_api: httpx.Client
    dc3_api: httpx.Client
    tmp: Path
    ca: str


def _seed(api: httpx.Client, host: str, services: dict[str, int]) -> None:
    objects = {
        "hosts": [{"name": host}],
        "services": [{"host": host, "name": s} for s in services],
    }
    assert api.post("/api/v1/objects", json=objects).status_code == 201
    results = [
        {"host": host, "service": s, "state": st, "summary": f"{s} is {st}"}
        for s, st in services.items()
    ]
    r = api.post("/api/v1/results", json={"results": results})
    assert r.status_code == 200, r.text


def _central_token(api: httpx.Client) -> str:
    """An operator token of user ``central-hq`` on a remote (what the README says to make)."""
    r = api.post("/api/v1/users", json={"name": "central-hq", "role": "operator"})
    assert r.status_code == 201, r.text
    r = api.post("/api/v1/tokens", json={"name": "hq", "user": "central-hq", "role": "operator"})
    assert r.status_code == 201, r.text
    token: str = r.json()["token"]
    return token


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    tmp = tmp_path_factory.mktemp("central")
    fast = {"tick_interval": 0.2, "checkpoint_interval": 1.0}
    central = make_site(
        tmp / "hq", site_name="hq", central={"refresh_interval": 0.2, "timeout": 2.0}, **fast
    )
    dc2 = make_site(tmp / "dc2", site_name="dc2", **fast)
    dc3 = make_site(tmp / "dc3", site_name="dc3", **fast)
    start_all([central, dc2, dc3])
    cert, key = make_cert(tmp)
    front = TlsFront(cert, key, int(dc2.url.rsplit(":", 1)[1]))
    hq, dc2_api, dc3_api = central.client(), dc2.client(), dc3.client()
    try:
        _seed(hq, "hq-web", {"disk": 1})
        _seed(dc2_api, "dc2-db", {"disk": 2, "load": 0, "ssh": 3})
        _seed(dc3_api, "dc3-app", {"http": 2})
        ca = cert.read_text()
        r = hq.post(
            "/api/v1/remotes",
            json={
                "name": "dc2",
                "url": f"https://127.0.0.1:{front.port}",
                "token": _central_token(dc2_api),
                "ca": ca,
            },
        )
        assert r.status_code == 201, r.text
        r = hq.post(
            "/api/v1/remotes",
            json={
                "name": "dc3",
                "url": dc3.url,
                "token": _central_token(dc3_api),
                "allow_http": True,
            },
        )
        assert r.status_code == 201, r.text
        yield Sites(central, dc2, dc3, hq, dc2_api, dc3_api, tmp, ca)
    finally:
        for c in (hq, dc2_api, dc3_api):
            c.close()
        front.close()
        for s in (central, dc2, dc3):
            s.stop()


def _problems(s: Sites, **params: Any) -> dict[str, Any]:
    r = s.hq.get("/api/v1/central/problems", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _keys(body: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(i["site"], i["host"], i["service"]) for i in body["items"]}


def test_problems_of_every_site_with_their_site(sites: Sites) -> None:
    want = {
        ("hq", "hq-web", "disk"),
        ("dc2", "dc2-db", "disk"),
        ("dc2", "dc2-db", "ssh"),
        ("dc3", "dc3-app", "http"),
    }
    body = wait_for(lambda: (b := _problems(sites)) and want <= _keys(b) and b)
    assert ("dc2", "dc2-db", "load") not in _keys(body)  # OK is no problem
    first = body["items"][0]
    assert first["state_name"] == "CRIT"
    assert first["handled"] is False
    assert {s["name"]: s["state"] for s in body["sites"]} == {"dc2": "ok", "dc3": "ok"}
    assert _keys(_problems(sites, site="dc2")) == {
        ("dc2", "dc2-db", "disk"),
        ("dc2", "dc2-db", "ssh"),
    }
    assert _keys(_problems(sites, site="hq")) == {("hq", "hq-web", "disk")}
    services = sites.hq.get("/api/v1/central/services", params={"site": "dc2"}).json()
    assert {i["service"] for i in services["items"]} == {"disk", "load", "ssh"}
    hosts = sites.hq.get("/api/v1/central/hosts").json()
    assert {(i["site"], i["host"]) for i in hosts["items"]} >= {
        ("hq", "hq-web"),
        ("dc2", "dc2-db"),
        ("dc3", "dc3-app"),
    }
    problem_of(sites.hq.get("/api/v1/central/problems", params={"site": "nowhere"}), 404)


def test_a_state_change_on_a_remote_shows_centrally(sites: Sites) -> None:
    wait_for(lambda: ("dc3", "dc3-app", "http") in _keys(_problems(sites)))
    start = time.monotonic()
    r = sites.dc3_api.post(
        "/api/v1/results",
        json={"results": [{"host": "dc3-app", "service": "http", "state": 0, "summary": "fine"}]},
    )
    assert r.status_code == 200
    wait_for(lambda: ("dc3", "dc3-app", "http") not in _keys(_problems(sites)), timeout=5)
    assert time.monotonic() - start < 5
    services = sites.hq.get("/api/v1/central/services", params={"site": "dc3"}).json()
    assert [i["summary"] for i in services["items"] if i["service"] == "http"] == ["fine"]


def test_an_ack_is_carried_out_by_the_owning_site(sites: Sites) -> None:
    wait_for(lambda: ("dc2", "dc2-db", "disk") in _keys(_problems(sites)))
    r = sites.hq.post(
        "/api/v1/central/actions/acknowledge",
        json={"site": "dc2", "host": "dc2-db", "service": "disk", "comment": "on it"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["site"] == "dc2"
    acks = sites.dc2_api.get("/api/v1/acknowledgements").json()["items"]
    mine = [a for a in acks if a["host"] == "dc2-db" and a["service"] == "disk"]
    assert mine
    assert mine[0]["author"] == "admin via central-hq"
    assert mine[0]["comment"] == "on it"

    def handled() -> bool:
        items = _problems(sites, site="dc2")["items"]
        return any(i["service"] == "disk" and i["handled"] and i["acknowledged"] for i in items)

    wait_for(handled, timeout=5)
    # the local site's objects are acted on here, with the same route
    r = sites.hq.post(
        "/api/v1/central/actions/comment",
        json={"site": "hq", "host": "hq-web", "service": "disk", "comment": "looked"},
    )
    assert r.status_code == 200, r.text


def test_a_remote_refusal_comes_back_verbatim(sites: Sites) -> None:
    wait_for(lambda: sites.hq.get("/api/v1/remotes").json()["items"][0]["state"] == "ok")
    r = sites.hq.post(
        "/api/v1/central/actions/schedule-downtime",
        json={
            "site": "dc2",
            "host": "dc2-db",
            "start": time.time(),
            "end": time.time() + 3600,
            "fixed": False,
            "duration": 60,
            "recurrence": "not a cron",
            "comment": "x",
        },
    )
    body = problem_of(r, 502)
    assert body["remote_status"] == 422
    assert body["detail"].startswith("remote site dc2 refused: 422 ")
    assert body["remote_answer"]["detail"] in body["detail"]


def test_remotes_never_show_their_token(sites: Sites) -> None:
    listed = sites.hq.get("/api/v1/remotes")
    assert listed.status_code == 200
    assert "token" not in listed.text.lower()
    log = (sites.central.dir / "serve.log").read_text()
    db = (sites.central.dir / "lookout.db").read_bytes()
    for token in (c.headers["authorization"].split()[1] for c in (sites.dc2_api,)):
        assert token not in log
    assert b"central-hq" not in db  # nothing of the remote in clear but its URL


def test_plain_http_and_bad_certificates_are_refused(sites: Sites) -> None:
    r = sites.hq.post("/api/v1/remotes", json={"name": "plain", "url": sites.dc3.url, "token": "t"})
    assert "allow_http" in problem_of(r, 422)["detail"]
    r = sites.hq.post(
        "/api/v1/remotes",
        json={"name": "badca", "url": "https://127.0.0.1:1", "token": "t", "ca": "nonsense"},
    )
    assert problem_of(r, 422)["errors"][0]["loc"] == ["ca"]
    r = sites.hq.post(
        "/api/v1/remotes",
        json={"name": "userinfo", "url": "https://u:p@127.0.0.1:1", "token": "t"},
    )
    assert problem_of(r, 422)["errors"][0]["loc"] == ["url"]
    other_ca, _ = make_cert(sites.tmp, "other")
    dc2 = next(i for i in sites.hq.get("/api/v1/remotes").json()["items"] if i["name"] == "dc2")
    r = sites.hq.post(
        "/api/v1/remotes",
        json={"name": "wrongca", "url": dc2["url"], "token": "t", "ca": other_ca.read_text()},
    )
    assert r.status_code == 201, r.text
    try:
        row = wait_for(lambda: _remote(sites, "wrongca", "unreachable"))
        assert "certificate verify failed" in row["error"]
    finally:
        assert sites.hq.delete("/api/v1/remotes/wrongca").status_code == 204


def _remote(s: Sites, name: str, state: str) -> dict[str, Any] | None:
    for row in s.hq.get("/api/v1/remotes").json()["items"]:
        if row["name"] == name and row["state"] == state:
            return dict(row)
    return None


def test_a_remote_that_does_not_answer_keeps_the_page_fast(sites: Sites) -> None:
    silent = Silent()
    refused = free_port()  # nothing listens there
    try:
        for name, port in (("silent", silent.port), ("gone", refused)):
            r = sites.hq.post(
                "/api/v1/remotes",
                json={
                    "name": name,
                    "url": f"http://127.0.0.1:{port}",
                    "token": "t",
                    "allow_http": True,
                },
            )
            assert r.status_code == 201, r.text
        gone = wait_for(lambda: _remote(sites, "gone", "unreachable"))
        assert "refused" in gone["error"].lower()
        for _ in range(5):
            start = time.monotonic()
            body = _problems(sites)
            assert time.monotonic() - start < 1.0
            assert ("dc2", "dc2-db", "ssh") in _keys(body)
        silent_row = wait_for(lambda: _remote(sites, "silent", "unreachable"), timeout=10)
        assert "no answer in time" in silent_row["error"]
        r = sites.hq.post(
            "/api/v1/central/actions/recheck",
            json={"site": "gone", "host": "x"},
        )
        assert "remote site gone" in problem_of(r, 502)["detail"]
    finally:
        for name in ("silent", "gone"):
            sites.hq.delete(f"/api/v1/remotes/{name}")
        silent.close()


def test_a_remote_answering_garbage_is_refused_cleanly(sites: Sites) -> None:
    answers = {
        "types": b'{"site": "evil", "cursor": "x:1", "full": true, "reset": false,'
        b' "more": false, "items": [{"host": 5}]}',
        "json": b"<html>not json",
        "huge": b'{"site": "evil", "cursor": "x:1", "full": true, "reset": false, "more": false,'
        b' "items": [{"host": "h", "service": "", "state": 9}]}',
        "endless": b'{"site": "evil", "cursor": "x:1", "full": true, "reset": false, "more": true,'
        b' "items": [{"host": "h", "service": "", "state": 0, "hard": true, "checked": true,'
        b' "summary": "", "last_check": 0, "last_state_change": 0, "acknowledged": false,'
        b' "in_downtime": false, "handled": false, "stale": false, "flapping": false}]}',
    }
    servers = {k: FixedAnswers(lambda _, v=v: (200, v)) for k, v in answers.items()}
    try:
        for name, server in servers.items():
            r = sites.hq.post(
                "/api/v1/remotes",
                json={
                    "name": f"evil-{name}",
                    "url": f"http://127.0.0.1:{server.port}",
                    "token": "t",
                    "allow_http": True,
                },
            )
            assert r.status_code == 201, r.text
        rows = {
            name: wait_for(lambda n=name: _remote(sites, f"evil-{n}", "unreachable"))
            for name in answers
        }
        assert "`$.items[0].host`" in rows["types"]["error"]
        assert "refused its answer" in rows["json"]["error"]
        assert "`$.items[0].state`" in rows["huge"]["error"]
        assert "pages do not advance" in rows["endless"]["error"]
        assert all(row["objects"] == 0 for row in rows.values())
        body = _problems(sites)
        assert not any(i["site"].startswith("evil") for i in body["items"])
        assert ("dc2", "dc2-db", "ssh") in _keys(body)
    finally:
        for name in answers:
            sites.hq.delete(f"/api/v1/remotes/evil-{name}")
        for server in servers.values():
            server.close()
