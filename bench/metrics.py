"""/metrics benchmark: Prometheus scrapes of a big ``lookout serve`` site.

    .venv/bin/python bench/metrics.py [--hosts 5000] [--services 20] [--rounds 10]

Builds a throwaway SQLite site with hosts × services passive services (default 100,000, each
with one perfdata metric with thresholds), starts ``lookout serve`` with ``[metrics] services``
and ``perfdata`` on, and times full scrapes of ``/metrics`` over HTTP (as Prometheus does):
median and worst of ``--rounds``, the size and the number of samples.

Target from issue 14: a scrape of 100,000 services ≤ 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ui import build

from livesite import make_site

TARGET = 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=5000)
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    total = args.hosts * args.services
    with tempfile.TemporaryDirectory() as tmp:
        site_dir = Path(tmp) / "site"
        live = make_site(
            site_dir,
            metrics={"services": True, "perfdata": True},
            livestatus={"enabled": False},
        )
        build(site_dir, args.hosts, args.services, total // 20)
        live.start(timeout=600)
        try:
            times, size, samples = [], 0, 0
            auth = {"Authorization": f"Bearer {live.token}"}  # [metrics] services wants one
            with httpx.Client(timeout=60, headers=auth) as client:
                for _ in range(args.rounds):
                    started = time.perf_counter()
                    r = client.get(f"{live.url}/metrics")
                    times.append(time.perf_counter() - started)
                    r.raise_for_status()
                    size = len(r.content)
                    samples = sum(1 for line in r.text.splitlines() if not line.startswith("#"))
        finally:
            live.stop()
    median = statistics.median(times)
    print(f"{total:,} services: {samples:,} samples, {size / 1e6:.1f} MB per scrape")
    print(f"scrape: median {median:.3f} s, worst {max(times):.3f} s over {args.rounds} rounds")
    verdict = "ok" if median <= TARGET else "MISS"
    print(f"[{verdict}] scrape of {total:,} services ≤ {TARGET:g} s (median)")


if __name__ == "__main__":
    main()
