"""Ingest fronts as processes: a front that dies is started again while results keep being
answered, a revoked token is refused within the gate's bound, and no front outlives its site.
(Their answers are the same as the site's own: ``tests/web/api/test_results.py`` runs both
ways.)"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from webapi import Api, wait_for

from livesite import LiveSite, make_site
from lookout.web.fronts.pool import GATE_TTL

pytestmark = pytest.mark.integration


def fronts_of(site: LiveSite) -> list[psutil.Process]:
    assert site.proc is not None
    children = psutil.Process(site.proc.pid).children()
    return [p for p in children if "lookout.web.fronts.front" in " ".join(p.cmdline())]


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveSite]:
    site = make_site(tmp_path / "site", ingest_fronts=2, tick_interval=0.2)
    site.start()
    try:
        yield site
    finally:
        site.stop()


def test_a_dead_front_is_started_again_and_results_go_on(live: LiveSite) -> None:
    with live.client() as admin:
        api = Api(live, admin)
        host, svc = api.host_with_service()
        first = fronts_of(live)
        assert len(first) == 2
        first[0].send_signal(signal.SIGKILL)
        accepted = 0
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # a new connection each time: either front
            try:
                r = httpx.post(
                    f"{live.url}/api/v1/results",
                    json={"host": host, "service": svc, "state": accepted % 3},
                    headers={"Authorization": f"Bearer {live.token}"},
                )
            except httpx.TransportError:
                continue  # the killed front's connection; nothing was answered
            assert r.status_code == 200, r.text
            accepted += 1
        assert accepted > 0
        pids = wait_for(
            lambda: {p.pid for p in fronts_of(live)} if len(fronts_of(live)) == 2 else None
        )
        assert first[0].pid not in pids
        assert first[1].pid in pids
        assert api.svc(host, svc)["checked"] is True


def test_a_revoked_token_is_refused_within_the_gate_bound(live: LiveSite) -> None:
    with live.client() as admin:
        api = Api(live, admin)
        host, svc = api.host_with_service()
        r = admin.post("/api/v1/tokens", json={"name": "bot", "role": "operator"})
        assert r.status_code == 201, r.text
        token, token_id = r.json()["token"], r.json()["id"]
        with live.client(token) as bot:
            body = {"host": host, "service": svc, "state": 1}
            assert bot.post("/api/v1/results", json=body).status_code == 200
            assert admin.delete(f"/api/v1/tokens/{token_id}").status_code == 204
            revoked = time.monotonic()
            answers: list[tuple[float, int]] = []
            while time.monotonic() - revoked < GATE_TTL + 1.0:
                code = bot.post("/api/v1/results", json=body).status_code
                answers.append((time.monotonic() - revoked, code))
            codes = [code for _, code in answers]
            assert set(codes) <= {200, 401, 429}  # 429: the throttle counts the failures
            refused_from = codes.index(401)
            assert 200 not in codes[refused_from:]
            # a request sent after GATE_TTL has passed is refused (0.5 s: a loaded machine)
            assert all(at <= GATE_TTL + 0.5 for at, code in answers if code == 200)


def test_fronts_end_with_the_site(live: LiveSite) -> None:
    fronts = fronts_of(live)
    assert len(fronts) == 2
    assert live.proc is not None
    os.kill(live.proc.pid, signal.SIGKILL)
    live.proc.wait()
    _, alive = psutil.wait_procs(fronts, timeout=10)
    assert not alive, [p.pid for p in alive]


def test_requests_that_arrive_together_each_get_their_own_answer(live: LiveSite) -> None:
    """Concurrent POSTs may reach the site as one frame and one engine input: each keeps its
    own answer, and the good results of each are applied."""
    with live.client() as admin:
        api = Api(live, admin)
        host, svc = api.host_with_service()
    good = {"host": host, "service": svc, "state": 1}
    bad = {"host": "no-such-host", "state": 0}
    bodies = [
        {"results": [good]},
        {"results": [good, bad]},
        {"results": [bad]},
        good,
        {"results": []},
    ] * 8

    async def post_all() -> list[httpx.Response]:
        headers = {"Authorization": f"Bearer {live.token}"}
        clients = [httpx.AsyncClient(base_url=live.url, headers=headers) for _ in bodies]
        try:
            return await asyncio.gather(
                *(c.post("/api/v1/results", json=b) for c, b in zip(clients, bodies, strict=True))
            )
        finally:
            for c in clients:
                await c.aclose()

    answers = asyncio.run(post_all())
    for body, r in zip(bodies, answers, strict=True):
        if body in ({"results": [good]}, good):
            assert (r.status_code, r.json()) == (200, {"accepted": 1, "rejected": 0})
        elif body == {"results": [good, bad]}:
            assert r.status_code == 207
            assert r.json()["errors"] == [
                {"index": 1, "loc": ["results", 1, "host"], "msg": "unknown host 'no-such-host'"}
            ]
        elif body == {"results": [bad]}:
            assert r.status_code == 422
            assert r.json()["accepted"] == 0
        else:
            assert r.status_code == 422
            assert r.json()["detail"] == "no results given"
    with live.client() as admin:
        assert Api(live, admin).svc(host, svc)["state"] == 1


def test_a_slow_request_is_not_cut_by_the_keep_alive_time(live: LiveSite) -> None:
    """The keep-alive time (5 s) is for idle connections, not for a body still arriving."""
    with live.client() as admin:
        host, svc = Api(live, admin).host_with_service()
    body = json.dumps({"host": host, "service": svc, "state": 2}).encode()
    head = (
        f"POST /api/v1/results HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {live.token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    port = int(live.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head + body[:5])
        for part in (body[5:10], body[10:]):
            time.sleep(3.5)  # 7 s in all: longer than the keep-alive time
            sock.sendall(part)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    assert answer.endswith(b'{"accepted":1,"rejected":0}'), answer
