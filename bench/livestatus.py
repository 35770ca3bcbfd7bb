"""Livestatus benchmark: LQL over the Unix socket of a big ``lookout serve`` site.

    .venv/bin/python bench/livestatus.py [--hosts 5000] [--services 20] [--rounds 20] [--seconds 10]
        [--churn 100]

Builds a throwaway SQLite site with hosts × services passive services (default 100,000; 5 % not
OK, a quarter of those acknowledged), starts ``lookout serve`` and times, over ``SITE/run/live``
with ``ResponseHeader: fixed16`` and JSON like Thruk's client:

- ``GET services`` with 10 columns (every service): median and p99 latency;
- a ``Stats`` query of the state counts (4 lines), and Thruk's tactical overview (18 lines);
- a Thruk-like page mix (tactical stats, problems list, one host's services, host list page,
  comments, status) from 4 kept-alive clients for ``--seconds``: queries/s, p50, p99; once on
  a still site (Stats answers given again for up to 1 s) and once while ``--churn``
  services a second (100) change state through the API (Stats counted again each second);
- a small query's latency while a client keeps asking for every service (how long the one
  event loop holds others).

Targets from issue 14: GET services ≤ 0.5 s, Stats ≤ 50 ms, the page mix ≥ 200 queries/s.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ui import build

from livesite import LiveSite, make_site

SERVICES_10 = (
    "GET services\nColumns: host_name description state state_type has_been_checked "
    "acknowledged scheduled_downtime_depth last_check plugin_output perf_data\n"
)
STATE_STATS = "GET services\n" + "".join(f"Stats: state = {s}\n" for s in range(4))
TAC = (
    "GET services\nFilter: host_state = 0\n"
    + "".join(f"Stats: state = {s}\n" for s in range(4))
    + "".join(f"Stats: state = {s}\nStats: acknowledged = 1\nStatsAnd: 2\n" for s in range(1, 4))
    + "".join(
        f"Stats: state = {s}\nStats: scheduled_downtime_depth > 0\nStatsAnd: 2\n"
        for s in range(1, 4)
    )
    + "".join(
        f"Stats: state = {s}\nStats: acknowledged = 0\nStats: scheduled_downtime_depth = 0\n"
        "StatsAnd: 3\n"
        for s in range(1, 4)
    )
    + "Stats: has_been_checked = 0\nStats: is_flapping = 1\nStats: active_checks_enabled = 0\n"
    + "Stats: sum percent_state_change\nStats: avg percent_state_change\n"
)
MIX = [
    TAC,
    "GET services\nColumns: host_name description state plugin_output last_state_change "
    "acknowledged scheduled_downtime_depth comments\nFilter: state != 0\nFilter: acknowledged = 0\n"
    "Limit: 100\n",
    "GET services\nColumns: description state plugin_output perf_data last_check\n"
    "Filter: host_name = host00042\n",
    "GET hosts\nColumns: name address state plugin_output num_services_ok num_services_crit "
    "groups\nLimit: 100\n",
    "GET hosts\nStats: state = 0\nStats: state = 1\nStats: state = 2\n"
    "Stats: has_been_checked = 0\n",
    "GET comments\nColumns: id host_name service_description author comment entry_time\n",
    "GET status\nColumns: program_start num_hosts num_services requests\n",
]
TARGETS = {"GET services (10 columns)": 500.0, "Stats state counts": 50.0}


def ask(s: socket.socket, lql: str) -> int:
    s.sendall((lql + "OutputFormat: json\nKeepAlive: on\nResponseHeader: fixed16\n\n").encode())
    head = b""
    while len(head) < 16:
        chunk = s.recv(16 - len(head))
        if not chunk:
            raise ConnectionError("closed")
        head += chunk
    code, length = int(head[:3]), int(head[4:15])
    left = length
    while left:
        chunk = s.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("closed")
        left -= len(chunk)
    if code != 200:
        raise RuntimeError(f"{code} for {lql!r}")
    return length


def connect(path: Path) -> socket.socket:
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(path))
    return s


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def timed(path: Path, name: str, lql: str, rounds: int, afresh: bool = False) -> None:
    """``afresh``: each round adds a header of its own that changes nothing, so that a Stats
    query is counted again instead of answered from the last answer (``stats_reuse``)."""
    with connect(path) as s:
        size = ask(s, lql)  # warm
        times = []
        for i in range(rounds):
            own = f"Timelimit: {1000 + i}\n" if afresh else ""  # ignored, but makes a new query
            t0 = time.perf_counter()
            ask(s, lql + own)
            times.append((time.perf_counter() - t0) * 1000)
    p50, p99 = statistics.median(times), pct(times, 0.99)
    target = TARGETS.get(name)
    mark = f"≤ {target:.0f} ms [{'ok' if p50 <= target else 'MISS'}]" if target else ""
    print(f"{name:<28} {p50:>9.1f} {p99:>9.1f} {size / 1024:>9.0f}  {mark}", flush=True)


def churn(
    live: LiveSite, services: list[tuple[str, str]], rate: int, stop: threading.Event
) -> None:
    """Change the state of ``rate`` services a second through the API, 20 per request."""
    with live.client() as http:
        i = 0
        while not stop.wait(20 / rate):
            batch = services[(i * 20) % len(services) :][:20]
            state = 2 if (i // (len(services) // 20 or 1)) % 2 == 0 else 0
            results = [
                {"host": h, "service": s, "state": state, "summary": "churn"} for h, s in batch
            ]
            http.post("/api/v1/results", json={"results": results})
            i += 1


def mix(path: Path, clients: int, seconds: float, label: str = "") -> None:
    times: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def run(n: int) -> None:
        mine = []
        with connect(path) as s:
            i = n
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                ask(s, MIX[i % len(MIX)])
                mine.append((time.perf_counter() - t0) * 1000)
                i += 1
        with lock:
            times.extend(mine)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rate = len(times) / (time.perf_counter() - t0)
    mark = f"≥ 200/s [{'ok' if rate >= 200 else 'MISS'}]"
    print(
        f"page mix{label}, {clients} clients: {rate:,.0f} queries/s, "
        f"p50 {statistics.median(times):.1f} ms, p99 {pct(times, 0.99):.1f} ms  {mark}",
        flush=True,
    )


def beside_big(path: Path, seconds: float) -> None:
    stop = time.monotonic() + seconds

    def big() -> None:
        with connect(path) as s:
            while time.monotonic() < stop:
                ask(s, SERVICES_10)

    t = threading.Thread(target=big)
    t.start()
    small = []
    with connect(path) as s:
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            ask(s, "GET status\nColumns: num_services\n")
            small.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.01)
    t.join()
    print(
        f"small query beside full GET services: p50 {statistics.median(small):.1f} ms, "
        f"p99 {pct(small, 0.99):.1f} ms, max {max(small):.1f} ms",
        flush=True,
    )


def keys(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The services ``build`` made, the first service of each host first."""
    return [
        (f"host{h:05d}", f"svc{s:02d}") for s in range(args.services) for h in range(args.hosts)
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=5000)
    ap.add_argument("--services", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--churn", type=int, default=100, help="state changes/s in the second mix")
    args = ap.parse_args()
    total = args.hosts * args.services
    with tempfile.TemporaryDirectory(prefix="lookout-bench-ls-") as tmp:
        site_dir = Path(tmp) / "site"
        live = make_site(site_dir)
        print(f"building {total:,} services …", flush=True)
        build(site_dir, args.hosts, args.services, total // 20)
        live.start(timeout=300)
        path = site_dir / "run" / "live"
        try:
            print(f"{'query':<28} {'p50 ms':>9} {'p99 ms':>9} {'KiB':>9}  target (p50)")
            timed(path, "GET services (10 columns)", SERVICES_10, args.rounds)
            timed(path, "Stats state counts", STATE_STATS, args.rounds * 5, afresh=True)
            timed(path, "Stats tactical (24 lines)", TAC, args.rounds * 5, afresh=True)
            timed(path, "Stats tactical, given again", TAC, args.rounds * 5)
            for i, q in enumerate(MIX[1:], start=1):
                timed(path, f"mix query {i}", q, args.rounds * 5)
            mix(path, 4, args.seconds)
            stop = threading.Event()
            flipper = threading.Thread(target=churn, args=(live, keys(args), args.churn, stop))
            flipper.start()
            try:
                mix(path, 4, args.seconds, f" with {args.churn} state changes/s")
            finally:
                stop.set()
                flipper.join()
            beside_big(path, min(args.seconds, 5.0))
        finally:
            live.stop()


if __name__ == "__main__":
    main()
