"""Bulk creation benchmark: 100,000 services in one request against a real ``lookout serve``.

    .venv/bin/python bench/bulk.py [--hosts 10000] [--services 10] [--postgresql URL]

Creates ``--hosts`` hosts with ``--services`` passive services each through ``POST
/api/v1/objects`` (hosts and services in one request), prints the time from sending to the
answer, then checks that a result for the last service is taken. [ok]/[MISS] against the
target of issue 19 (100,000 services in ≤ 10 s).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx
import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from livesite import make_site

TARGET_S = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--services", type=int, default=10)
    parser.add_argument("--postgresql", default="", help="database URL (default: SQLite)")
    args = parser.parse_args()
    hosts = [{"name": f"h{i:06d}", "labels": {"env": "bench"}} for i in range(args.hosts)]
    services = [
        {"host": h["name"], "name": f"svc{j}", "labels": {"tier": "b"}}
        for h in hosts
        for j in range(args.services)
    ]
    body = msgspec.json.encode({"hosts": hosts, "services": services})
    with tempfile.TemporaryDirectory() as tmp:
        site = make_site(Path(tmp) / "site", database_url=args.postgresql)
        site.start()
        try:
            with site.client() as http:
                http.timeout = httpx.Timeout(300)
                began = time.perf_counter()
                r = http.post(
                    "/api/v1/objects", content=body, headers={"content-type": "application/json"}
                )
                took = time.perf_counter() - began
                assert r.status_code == 201, r.text[:500]
                last = services[-1]
                ok = http.post(
                    "/api/v1/results",
                    json={"results": [{"host": last["host"], "service": last["name"], "state": 0}]},
                )
                assert ok.status_code == 200, ok.text
        finally:
            site.stop()
    total = len(hosts) + len(services)
    mark = "ok " if took <= TARGET_S else "MISS"
    print(f"       request body {len(body) / 1e6:.1f} MB, {total:,} objects")
    print(
        f"[{mark}] {len(services):,} services (+{len(hosts):,} hosts) in one POST /objects: "
        f"{took:.2f} s = {total / took:,.0f} objects/s (target ≤ {TARGET_S:g} s)"
    )


if __name__ == "__main__":
    main()
