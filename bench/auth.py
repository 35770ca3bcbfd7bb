"""Failed-token throttle benchmark (issue 16): how fast one address can try bad tokens, and
what a valid token costs, with and without the throttle.

    .venv/bin/python bench/auth.py [--tries 2000] [--limit N]

Starts a throwaway SQLite site (``--limit`` sets ``auth_failure_limit``; 0 turns the throttle
off; omitted, the site's default), then over keep-alive HTTP/1.1 connections:

1. ``--tries`` requests with a wrong bearer token from 127.0.0.2 (GET /api/v1/hosts): their
   rate, and how many were checked against the tokens (401) rather than refused (429);
2. ``--tries`` GET /api/v1/hosts and single-result POST /api/v1/results with the valid token
   from 127.0.0.2 (the blocked address; the token was used from it before the bad tries) and
   from 127.0.0.3: median and p99 latency.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from livesite import LiveSite, make_site


def client(site: LiveSite, address: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=site.url,
        headers={"Authorization": f"Bearer {token}"},
        transport=httpx.HTTPTransport(local_address=address),
    )


def latencies(c: httpx.Client, tries: int, method: str, path: str, body: object) -> list[float]:
    out = []
    for _ in range(tries):
        t0 = time.perf_counter()
        r = c.request(method, path, json=body)
        out.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.text
    return out


def report(name: str, times: list[float]) -> None:
    ms = sorted(t * 1000 for t in times)
    p99 = ms[int(len(ms) * 0.99) - 1]
    print(f"{name:<52} median {statistics.median(ms):6.3f} ms   p99 {p99:6.3f} ms", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tries", type=int, default=2000)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    extra = {} if args.limit is None else {"auth_failure_limit": args.limit}
    with tempfile.TemporaryDirectory() as tmp:
        site = make_site(Path(tmp) / "site", **extra)  # type: ignore[arg-type]
        site.start()
        try:
            with site.client() as admin:
                admin.post("/api/v1/hosts", json={"name": "h"}).raise_for_status()
                admin.post("/api/v1/hosts/h/services", json={"name": "s"}).raise_for_status()
            result = {"host": "h", "service": "s", "state": 0, "summary": "ok"}
            with (
                client(site, "127.0.0.2", site.token) as known,
                client(site, "127.0.0.2", "lk_wrong") as bad,
                client(site, "127.0.0.3", site.token) as other,
            ):
                known.get("/api/v1/hosts").raise_for_status()
                codes: Counter[int] = Counter()
                t0 = time.perf_counter()
                for _ in range(args.tries):
                    codes[bad.get("/api/v1/hosts").status_code] += 1
                took = time.perf_counter() - t0
                print(
                    f"{args.tries} bad-token tries from one address: {took:.2f} s "
                    f"({args.tries / took:,.0f}/s); checked (401): {codes[401]}, "
                    f"refused (429): {codes[429]}",
                    flush=True,
                )
                for name, c in (("blocked address", known), ("other address", other)):
                    report(
                        f"valid token, GET /api/v1/hosts, {name}",
                        latencies(c, args.tries, "GET", "/api/v1/hosts", None),
                    )
                    report(
                        f"valid token, POST /api/v1/results, {name}",
                        latencies(c, args.tries, "POST", "/api/v1/results", result),
                    )
        finally:
            site.stop()


if __name__ == "__main__":
    main()
