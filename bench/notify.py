"""Notification benchmark: event → Zulip request latency, and outbox throughput.

    .venv/bin/python bench/notify.py [--rate 100] [--seconds 10] [--deliveries 10000]

1. A site (SQLite, in this process) with a Zulip channel pointing at the local Zulip server of
   the tests (control reactions on, no bundling); hard problems are submitted at ``--rate``
   events/s; the latency is from submitting the result to the server receiving
   ``POST /api/v1/messages`` for that object (p50/p99/max).
2. ``--deliveries`` stored deliveries are sent by the outbox to a webhook receiver running in
   a separate process; throughput is deliveries per second, and every delivery must arrive
   exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "chatops"))

from harness import Harness  # noqa: E402

from livesite import free_port  # noqa: E402
from lookout.domain.objects import HostConfig, ServiceConfig  # noqa: E402
from lookout.domain.results import CheckResult  # noqa: E402
from lookout.engine.inputs import Results  # noqa: E402
from lookout.notify.channels.base import ChannelContext  # noqa: E402
from lookout.notify.channels.webhook import WebhookChannel  # noqa: E402
from lookout.notify.clock import RealClock  # noqa: E402
from lookout.notify.dispatcher import Dispatcher  # noqa: E402
from lookout.notify.spec import WebhookSpec  # noqa: E402
from lookout.notify.store import PENDING, SENT, NotifyStore  # noqa: E402
from lookout.storage.database import migrate, open_database  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def latency(rate: int, seconds: int, tmp: Path) -> dict[str, Any]:
    port = free_port()
    server = str(ROOT / "tests" / "chatops" / "zulipserver.py")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}
    proc = subprocess.Popen([sys.executable, server, str(port), "1000000"], env=env)  # noqa: ASYNC220
    url = f"http://127.0.0.1:{port}"
    h = Harness(tmp / "lat")
    await h.start()
    site = h.site
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(200):
                try:
                    await http.get(f"{url}/_test/messages")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            await h.configure(
                [
                    {
                        "name": "chat",
                        "spec": {
                            "type": "zulip",
                            "site": url,
                            "email": "bot@zulip.test",
                            "api_key": "key-0",
                            "stream": "monitoring",
                            "rate_per_minute": 1_000_000,
                            "group_window": 0,
                            "parallel": 8,
                            "listen": True,
                        },
                    }
                ],
                [{"name": "all", "channels": ["chat"], "events": ["problem"]}],
            )
            total = rate * seconds
            hosts = max(1, total // 100)
            for i in range(hosts):
                await site.save_host(HostConfig(name=f"node-{i}"), create=True)
            services = [(f"node-{i % hosts}", f"Pod p-{i}") for i in range(total)]
            for hh, s in services:
                cfg = ServiceConfig(host=hh, name=s, max_check_attempts=1, stale_after=0)
                await site.save_service(cfg, create=True)
            print(f"latency: {total} hard problems at {rate}/s …", flush=True)
            sent_at: dict[str, float] = {}
            start = time.perf_counter()
            for n, (hh, s) in enumerate(services):
                wait = start + n / rate - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                now = time.time()
                sent_at[f"{hh} / {s}"] = now
                site.runner.submit(
                    Results(at=now, results=[CheckResult(hh, s, 2, "CrashLoopBackOff")])
                )
            store = site.notifier.store
            for _ in range(600):  # ask the server only at the end: asking costs it time
                if len(store.deliveries(status="sent", limit=total + 1)) >= total:
                    break
                await asyncio.sleep(0.2)
            dump = (await http.get(f"{url}/_test/messages")).json()
            got = {m["subject"]: m["timestamp_f"] for m in dump["messages"]}
            requests = dump["requests"]
        lat = [got[t] - sent_at[t] for t in sent_at if t in got]
        rows = site.notifier.store.deliveries(limit=total + 10)
        queued = [d.created_at - d.payload["at"] for d in rows]
        return {
            "outbox_p50_ms": 1000 * statistics.median(queued),
            "outbox_p99_ms": 1000 * pct(queued, 99),
            "events": total,
            "messages": len(got),
            "p50_ms": 1000 * statistics.median(lat),
            "p99_ms": 1000 * pct(lat, 99),
            "max_ms": 1000 * max(lat),
            "zulip_requests": requests,
        }
    finally:
        await h.stop()
        proc.terminate()
        proc.wait()


RECEIVER = textwrap.dedent(
    """
    import json, sys, uvicorn
    seen = {}
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        if scope["path"] == "/count":
            body = str(len(seen)).encode() + b" " + str(sum(seen.values())).encode()
        else:
            data = b""
            while True:
                msg = await receive()
                data += msg.get("body", b"")
                if not msg.get("more_body"):
                    break
            for key in json.loads(data)["keys"]:
                seen[key] = seen.get(key, 0) + 1
            body = b""
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                access_log=False)
    """
)


async def throughput(count: int, tmp: Path) -> dict[str, Any]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", RECEIVER, str(port)])  # noqa: ASYNC220
    db = open_database(f"sqlite:///{tmp / 'outbox.db'}")
    try:
        migrate(db)
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/count")  # noqa: ASYNC210
                break
            except httpx.TransportError:
                await asyncio.sleep(0.05)
        store = NotifyStore(db)
        now = time.time()
        rows = [
            {
                "key": f"bench:{i}",
                "event_id": i,
                "kind": "recovery",
                "rule": "bench",
                "channel": "hook",
                "recipient": "*",
                "host": f"h{i % 100}",
                "service": f"s{i}",
                "number": 1,
                "payload": {
                    "kind": "recovery",
                    "host": f"h{i % 100}",
                    "service": f"s{i}",
                    "at": now,
                },
                "status": PENDING,
                "attempts": 0,
                "created_at": now,
                "due_at": now,
                "sent_at": None,
                "error": "",
                "external_id": "",
            }
            for i in range(count)
        ]
        store.commit_batch(0, now, rows, [], [])
        clock = RealClock()
        spec = WebhookSpec(  # no bundling: recoveries are bundled like problems by default
            url=f"http://127.0.0.1:{port}/hook",
            rate_per_minute=10_000_000,
            parallel=4,
            batch=50,
            group_window=0,
        )
        d = Dispatcher(store, clock)
        d.set_channels(
            {"hook": WebhookChannel("hook", spec, ChannelContext(store, clock))}, {"hook": spec}
        )
        print(f"throughput: {count} deliveries to a webhook receiver …", flush=True)
        start = time.perf_counter()
        await d.start()
        while d.stats.sent + d.stats.failed < count:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - start
        await d.stop()
        answer = httpx.get(f"http://127.0.0.1:{port}/count")  # noqa: ASYNC210
        distinct, total = answer.text.split()
        return {
            "deliveries": count,
            "seconds": elapsed,
            "per_second": count / elapsed,
            "sent_in_db": len(store.deliveries(status=SENT, limit=count + 1)),
            "received_distinct": int(distinct),
            "received_total": int(total),
        }
    finally:
        proc.terminate()
        proc.wait()
        db.dispose()


def verdict(what: str, ok: bool, target: str) -> None:
    print(f"[{'ok ' if ok else 'MISS'}] {what} (target {target})")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rate", type=int, default=100, help="events per second")
    ap.add_argument("--seconds", type=int, default=10, help="how long to send events")
    ap.add_argument("--deliveries", type=int, default=10_000, help="outbox deliveries")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lat = await latency(args.rate, args.seconds, Path(tmp))
        print(
            f"event → Zulip request: {lat['events']} events at {args.rate}/s, "
            f"{lat['messages']} messages; p50 {lat['p50_ms']:.1f} ms, "
            f"p99 {lat['p99_ms']:.1f} ms, max {lat['max_ms']:.1f} ms "
            f"({lat['zulip_requests']} Zulip requests incl. control reactions); "
            f"event → stored delivery p50 {lat['outbox_p50_ms']:.1f} ms, "
            f"p99 {lat['outbox_p99_ms']:.1f} ms"
        )
        verdict(
            f"event → Zulip request p99 at {args.rate} events/s", lat["p99_ms"] <= 1000, "≤ 1 s"
        )
        thr = await throughput(args.deliveries, Path(tmp))
        print(
            f"outbox → webhook: {thr['deliveries']} deliveries in {thr['seconds']:.2f} s = "
            f"{thr['per_second']:.0f}/s; sent in DB {thr['sent_in_db']}, received "
            f"{thr['received_distinct']} distinct / {thr['received_total']} total"
        )
        once = thr["received_distinct"] == thr["received_total"] == args.deliveries
        verdict(
            "outbox deliveries/s to a webhook, each received once",
            once and thr["per_second"] >= 1000,
            "≥ 1,000/s",
        )


if __name__ == "__main__":
    asyncio.run(main())
