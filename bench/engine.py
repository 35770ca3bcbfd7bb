"""The engine in process, steady and under churn: what compiling the hot path could win.

    .venv/bin/python bench/engine.py [--hosts 1000] [--services 10] [--seconds 5] [--rounds 3]
                                     [--profile churn|steady|decode]

Figures (each the best of ``--rounds`` runs of ``--seconds`` of CPU time, results per CPU
second, one line each):

- ``steady``: ``bench/ingest.py``'s engine figure (about 2 % of the results change state; the
  metrics come decoded): apply, journal body, events and metric points handed over.
- ``churn``: every result changes its service's state and carries perfdata text, as the
  peers' comparison sends it: the JSON body decoded and checked as ``POST /api/v1/results``
  does it (``web.api.ingest_items.prepare``, then ``Ingest._check``), perfdata parsed, then
  applied and journaled as above.
- ``churn engine only``: the same results already decoded (what the engine's own share is).

The first line says which of the hot modules are compiled (mypyc extension modules) and which
run as Python, so a run against a compiled build (``PYTHONPATH`` of a mypyc build dir first)
and one against the sources compare the same load. ``--profile`` prints cProfile's top
functions of one figure instead.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import os
import pstats
import random
import time
from collections.abc import Callable
from types import SimpleNamespace

import msgspec

from lookout.domain.metrics import Metric
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.domain.results import CheckResult
from lookout.engine import inputs as inp
from lookout.engine.core import Engine
from lookout.storage.series.store import SeriesStore
from lookout.web.api.ingest import Ingest
from lookout.web.api.ingest_items import prepare

HOT = (
    "lookout.engine.core",
    "lookout.engine.transitions",
    "lookout.engine.status",
    "lookout.engine.flapping",
    "lookout.domain.perfdata",
    "lookout.domain.values",
    "lookout.web.api.ingest_items",
    "lookout.web.api.ingest",
)


def compiled_modules() -> tuple[list[str], list[str]]:
    done, plain = [], []
    for name in HOT:
        path = importlib.import_module(name).__file__ or ""
        (done if path.endswith(".so") else plain).append(name.removeprefix("lookout."))
    return done, plain


def make_engine(hosts: int, services: int) -> tuple[Engine, SeriesStore]:
    series = SeriesStore()
    engine = Engine(metrics=series)
    for h in range(hosts):
        engine.put_host(HostConfig(name=f"host{h:05d}", address="10.0.0.1"), 0.0)
    for h in range(hosts):
        for s in range(services):
            cfg = ServiceConfig(
                host=f"host{h:05d}",
                name=f"svc{s:02d}",
                max_check_attempts=3,
                check_interval=60,
                stale_after=0,
            )
            engine.put_service(cfg, 0.0)
    return engine, series


def steady_batches(hosts: int, services: int, count: int) -> list[list[CheckResult]]:
    """``bench/ingest.py``'s load: mostly steady OK results with a metric, ~2 % CRIT."""
    rnd = random.Random(7)
    batches = []
    for _ in range(count):
        batch = []
        for _ in range(1000):
            h, s = rnd.randrange(hosts), rnd.randrange(services)
            state = 2 if rnd.random() < 0.02 else 0
            metric = Metric("value", rnd.random() * 100, "%", 80.0, 90.0, 0.0, 100.0)
            summary = "OK - all fine" if not state else "CRIT"
            batch.append(CheckResult(f"host{h:05d}", f"svc{s:02d}", state, summary, "", (metric,)))
        batches.append(batch)
    return batches


def churn_bodies(hosts: int, services: int, passes: int) -> list[bytes]:
    """``bench/churn.py``'s load: passes over every service, states 0/1/2 rotating (every
    result changes state), perfdata text, 1,000 results per body."""
    n = hosts * services
    order = [(i * 7919) % n for i in range(n)]
    enc = msgspec.json.Encoder()
    out = []
    k = 0
    for p in range(passes):
        for b in range(0, n, 1000):
            items = []
            for j in order[b : b + 1000]:
                k += 1
                items.append(
                    {
                        "host": f"host{j // services:05d}",
                        "service": f"svc{j % services:02d}",
                        "state": (p + j) % 3,
                        "summary": f"churn {k}",
                        "perfdata": f"v={k % 1000};80;90;0;100",
                    }
                )
            out.append(enc.encode({"results": items}))
    return out


class Run:
    """One figure: applies batches round robin until ``seconds`` are up."""

    def __init__(self, hosts: int, services: int) -> None:
        self.engine, self.series = make_engine(hosts, services)
        settings = SimpleNamespace(max_clock_skew=300.0)
        self.ingest = Ingest(SimpleNamespace(engine=self.engine, settings=settings))
        self.at = 1.0

    def handover(self) -> None:
        """What a checkpoint takes away (the runner writes it on its own thread)."""
        self.engine.take_events()
        self.series.take_pending()
        self.engine.dirty.clear()

    def apply(self, results: list[CheckResult]) -> int:
        self.at += 1.0
        item = inp.Results(at=self.at, results=results)
        self.engine.apply(item)
        inp.encode(item)  # the journal body
        return len(results)

    def decode(self, body: bytes) -> list[CheckResult]:
        """As ``POST /api/v1/results`` does it: ``prepare`` (a front's share, or the site's
        with ``ingest_fronts = 0``), then the site's check against the live objects."""
        good: list[CheckResult] = []
        errors = self.ingest._check(prepare(body), self.at, good)
        if errors:
            raise RuntimeError(errors[:3])
        return good


def timed(step: Callable[[int], int], handover: Callable[[], None], seconds: float) -> float:
    """Results per second of this process's CPU time: on a shared machine wall time mostly
    measures the neighbours."""
    n = i = 0
    t0 = time.process_time()
    deadline = t0 + seconds
    while time.process_time() < deadline:
        n += step(i)
        i += 1
        if i % 20 == 0:
            handover()
    return n / (time.process_time() - t0)


def figures(a: argparse.Namespace) -> dict[str, Callable[[float], float]]:
    steady = steady_batches(a.hosts, a.services, 200)
    bodies = churn_bodies(a.hosts, a.services, 6)
    decoded: list[list[CheckResult]] = []
    decoder = Run(a.hosts, a.services)
    for body in bodies:
        decoded.append(decoder.decode(body))

    def run_steady(seconds: float) -> float:
        r = Run(a.hosts, a.services)
        r.apply(steady[0])  # every status checked once, as on a running site
        return timed(lambda i: r.apply(steady[i % len(steady)]), r.handover, seconds)

    def run_churn(seconds: float) -> float:
        r = Run(a.hosts, a.services)
        return timed(lambda i: r.apply(r.decode(bodies[i % len(bodies)])), r.handover, seconds)

    def run_engine(seconds: float) -> float:
        r = Run(a.hosts, a.services)
        return timed(lambda i: r.apply(decoded[i % len(decoded)]), r.handover, seconds)

    def run_decode(seconds: float) -> float:
        r = Run(a.hosts, a.services)
        return timed(lambda i: len(r.decode(bodies[i % len(bodies)])), lambda: None, seconds)

    return {
        "steady": run_steady,
        "churn": run_churn,
        "churn engine only": run_engine,
        "decode": run_decode,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--services", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", choices=["steady", "churn", "decode"])
    a = ap.parse_args()
    done, plain = compiled_modules()
    print(f"compiled: {', '.join(done) or 'none'}; Python: {', '.join(plain) or 'none'}")
    print(f"load average {os.getloadavg()[0]:.2f}; {a.hosts * a.services:,} services")
    runs = figures(a)
    if a.profile:
        prof = cProfile.Profile()
        prof.runcall(runs[a.profile], a.seconds)
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
        return
    for name, run in runs.items():
        best = max(run(a.seconds) for _ in range(a.rounds))
        print(f"{name:<20} {best:>12,.0f} results/s", flush=True)


if __name__ == "__main__":
    main()
