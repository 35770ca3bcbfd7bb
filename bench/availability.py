"""Availability report benchmark: 10,000 services over 30 days.

    .venv/bin/python bench/availability.py [--services 10000] [--days 30] [--changes 4]

Makes a SQLite site whose services were created 40 days ago and whose event log holds, per
service and day, ``--changes`` state changes (half hard problems, half recoveries) and a
weekly two-hour downtime per host, then times the report of every service over ``--days``
days the way the API computes it (in process: selection, three reads, the computation).
Prints [ok]/[MISS] against the target of issue 14 (≤ 3 s).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lookout.domain.availability import Options
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.sites.reports import Selection, availability
from lookout.sites.site import Site, init_site
from lookout.storage import tables as t

DAY = 86400.0
TARGET_S = 3.0


def populate(site: Site, services: int, days: int, changes: int, now: float) -> int:
    per_host = 10
    hosts = [HostConfig(name=f"h{i:05d}") for i in range(services // per_host)]
    svcs = [
        ServiceConfig(host=h.name, name=f"svc{j}", max_check_attempts=1)
        for h in hosts
        for j in range(per_host)
    ]
    site.store.save_many(hosts, svcs, now - (days + 10) * DAY)
    rng = random.Random(7)
    start = now - (days + 5) * DAY
    rows = []
    event_id = 0
    for s in svcs:
        at = start
        for _ in range(changes * (days + 5) // 2):
            at += rng.uniform(0.5, 1.5) * 2 * DAY / changes
            for state in (2, 0):
                event_id += 1
                rows.append((event_id, at, "state_change", s.host, s.name, state, "hard"))
                at += rng.uniform(60, 1800)
    for h in hosts:
        for week in range((days + 5) // 7):
            begin = start + week * 7 * DAY + 3 * 3600
            data = msgspec.json.encode({"downtime_id": event_id, "include_services": True})
            for at, kind in ((begin, "downtime_start"), (begin + 7200, "downtime_end")):
                event_id += 1
                rows.append((event_id, at, kind, h.name, "", None, None, data.decode()))
    rows.sort(key=lambda r: r[1])
    with site.db.begin() as conn:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.executemany(
            f"INSERT INTO {t.events.name} (id, at, type, host, service, state, state_type,"
            " attempt, summary, author, comment, data) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, '', '',"
            " '', ?)",
            [(*r[:7], r[7] if len(r) > 7 else "{}") for r in rows],
        )
    return len(rows)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--changes", type=int, default=4, help="state changes per service and day")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        site_dir = Path(tmp) / "site"
        init_site(site_dir, listen="127.0.0.1:1", extra={"agent_receiver": {"enabled": False}})
        now = time.time()
        site = Site(site_dir)
        await site.start()
        try:
            made = time.perf_counter()
            events = populate(site, args.services, args.days, args.changes, now)
            print(f"       {events:,} events written in {time.perf_counter() - made:.1f} s")
            await site.stop()
            site = Site(site_dir)
            await site.start()
            opts = Options(now - args.days * DAY, now, sla=99.0)
            for run in range(3):
                began = time.perf_counter()
                reports = await availability(site, Selection(), opts)
                took = time.perf_counter() - began
                outages = sum(len(r.outages) for r in reports)
                mark = "ok " if took <= TARGET_S else "MISS"
                print(
                    f"[{mark}] report of {len(reports):,} services over {args.days} days"
                    f" ({outages:,} outages), run {run + 1}: {took:.2f} s (target ≤ {TARGET_S} s)"
                )
        finally:
            await site.stop()


if __name__ == "__main__":
    asyncio.run(main())
