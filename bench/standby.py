"""Standby takeover time: SIGKILL the active ``lookout serve`` of a PostgreSQL site, time until
the standby answers ``/readyz`` 200; repeated, the killed one started again as the next standby.

    .venv/bin/python bench/standby.py [--kills 5] [--services 1000] [--pg URL]

One throwaway database (``--pg``: the server's admin URL, default the tests'
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``), dropped at the end. The site has
``--services`` passive services (10 per host) that get a result each second from a writer
while the active process runs, so every takeover replays a journal. Prints each takeover and
the median and maximum against the issue's target (≤ 10 s).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from livesite import LiveSite, make_site, wait_ready

TARGET = 10.0


def _populate(site: LiveSite, services: int) -> list[dict[str, object]]:
    hosts = [{"name": f"h{h}"} for h in range(max(1, services // 10))]
    items = [
        {"host": f"h{i // 10}", "name": f"s{i % 10}", "max_check_attempts": 1}
        for i in range(services)
    ]
    with site.client() as c:
        c.post("/api/v1/objects", json={"hosts": hosts, "services": items}).raise_for_status()
    return [{"host": s["host"], "service": s["name"], "state": 0} for s in items]


def _feed(site: LiveSite, results: list[dict[str, object]], stop: threading.Event) -> None:
    """A batch of results a second to whichever process answers (the active one)."""
    n = 0
    while not stop.wait(1.0):
        n += 1
        for r in results:
            r["summary"] = f"round {n}"
        try:
            with site.client() as c:
                c.post("/api/v1/results", content=json.dumps({"results": results}))
        except httpx.TransportError:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    admin = sa.create_engine(args.pg, isolation_level="AUTOCOMMIT")
    name = f"lookout_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = args.pg.rsplit("/", 1)[0] + f"/{name}"
    took: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        a = make_site(Path(tmp) / "site", url)
        b = a.second()
        procs = [a, b]
        stop = threading.Event()
        try:
            a.start()
            b.start(probe="/healthz")
            results = _populate(a, args.services)
            feeders = [
                threading.Thread(target=_feed, args=(s, results, stop), daemon=True) for s in procs
            ]
            for t in feeders:
                t.start()
            active, standby = a, b
            for i in range(args.kills):
                time.sleep(3)  # some journal since the last checkpoint
                active.kill()
                began = time.monotonic()
                assert standby.proc is not None
                assert standby.log is not None
                ready = f"{standby.url}/readyz"
                if not wait_ready(standby.proc, ready, standby.log, "standby", 60, 0.02):
                    raise SystemExit("the standby did not take over within 60 s")
                took.append(time.monotonic() - began)
                print(f"kill {i + 1}: takeover {took[-1]:.2f} s", flush=True)
                active.start(probe="/healthz")  # the killed one is the next standby
                active, standby = standby, active
        finally:
            stop.set()
            for s in procs:
                s.stop()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()
    median, worst = statistics.median(took), max(took)
    mark = "[ok]" if worst <= TARGET else "[MISS]"
    print(
        f"takeover after SIGKILL over {len(took)} kills, {args.services} services: "
        f"median {median:.2f} s, max {worst:.2f} s {mark} (target ≤ {TARGET:g} s)"
    )


if __name__ == "__main__":
    main()
