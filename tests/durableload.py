"""The durability load, for the SIGKILL test and the standby's failover test: writers post
results (and one posts comments, an action) as fast as the site answers, until the site is
killed; then every answered result and comment must be in the state a site starts from.

Each writer owns a set of services and posts results to them in order; every result flips the
state (max_check_attempts 1), so each one is a hard state change with its own event. After the
kill, every service's state must be at least as new as its last acknowledged result, the event
log must hold a state change for every acknowledged result, and every acknowledged comment
must exist.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

import httpx

from livesite import LiveSite

HOSTS = 8
SERVICES = 4
WRITERS = 8


@dataclass
class Acked:
    """What the killed site answered 2xx."""

    results: dict[tuple[str, str], int] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)
    killed_at: float = 0.0
    """``time.monotonic()`` of the SIGKILL."""


def setup(site: LiveSite) -> None:
    with site.client() as c:
        for h in range(HOSTS):
            assert c.post("/api/v1/hosts", json={"name": f"h{h}"}).status_code == 201
            for s in range(SERVICES):
                r = c.post(
                    f"/api/v1/hosts/h{h}/services", json={"name": f"s{s}", "max_check_attempts": 1}
                )
                assert r.status_code == 201


async def _writer(
    client: httpx.AsyncClient,
    keys: list[tuple[str, str]],
    acked: dict[tuple[str, str], int],
    stop: asyncio.Event,
) -> None:
    seq = 0
    while not stop.is_set():
        seq += 1
        body = {
            "results": [
                {
                    "host": h,
                    "service": s,
                    "state": 2 if seq % 2 else 0,
                    "summary": f"seq={seq}",
                    "perfdata": f"seq={seq}",
                }
                for h, s in keys
            ]
        }
        try:
            resp = await client.post("/api/v1/results", content=json.dumps(body))
        except httpx.TransportError:
            return
        if resp.status_code != 200:
            return
        for key in keys:
            acked[key] = seq


async def _commenter(client: httpx.AsyncClient, acked: list[str], stop: asyncio.Event) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        text = f"c={n}"
        body = {"host": "h0", "service": "s0", "comment": text}
        try:
            resp = await client.post("/api/v1/actions/comment", json=body)
        except httpx.TransportError:
            return
        if resp.status_code != 200:
            return
        acked.append(text)


async def load(site: LiveSite, seconds: float) -> Acked:
    """Write for ``seconds``, then SIGKILL ``site`` while requests are in flight."""
    keys = [(f"h{h}", f"s{s}") for h in range(HOSTS) for s in range(SERVICES)]
    acked = Acked()
    stop = asyncio.Event()
    headers = {"Authorization": f"Bearer {site.token}"}
    async with httpx.AsyncClient(base_url=site.url, headers=headers, timeout=10) as client:
        tasks = [
            asyncio.create_task(_writer(client, keys[i::WRITERS], acked.results, stop))
            for i in range(WRITERS)
        ]
        tasks.append(asyncio.create_task(_commenter(client, acked.comments, stop)))
        await asyncio.sleep(seconds)
        site.kill()  # SIGKILL while requests are in flight
        acked.killed_at = time.monotonic()
        stop.set()
        await asyncio.gather(*tasks)
    return acked


def verify(site: LiveSite, acked: Acked) -> None:
    """Everything in ``acked`` is in ``site`` (started again, or the standby that took over)."""
    with site.client() as c:
        for (host, service), seq in acked.results.items():
            svc = c.get(f"/api/v1/hosts/{host}/services/{service}").json()
            got = int(svc["summary"].removeprefix("seq="))
            assert got >= seq, f"{host}/{service}: acknowledged seq={seq}, state has {got}"
            events = c.get(
                "/api/v1/events",
                params={"host": host, "service": service, "type": "state_change", "limit": 10000},
            ).json()["items"]
            seen = {e["summary"] for e in events}
            missing = [n for n in range(1, seq + 1) if f"seq={n}" not in seen]
            assert not missing, f"{host}/{service}: no history for acknowledged {missing[:5]}"
        comments = c.get("/api/v1/comments", params={"host": "h0", "service": "s0"}).json()
        kept = {item["text"] for item in comments["items"]}
        lost = [text for text in acked.comments if text not in kept]
        assert not lost, f"acknowledged comments lost: {lost[:5]}"
