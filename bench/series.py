"""Downsampling benchmark (issue 17): how long the writer thread spends rolling up metric points.

    .venv/bin/python bench/series.py [--series 20000] [--interval 60] [--postgresql]

Writes ``--series`` series for one hour and a bit, one point per series every ``--interval``
seconds, each flush a checkpoint (a SQLite file, or a throwaway PostgreSQL database with
``--postgresql``). Where the store can roll up per checkpoint (``SeriesStore.roll_up``) it
does so after each flush, as the site does, and the per-checkpoint times are reported (the
largest is what one checkpoint can stall the writer); then what the site does hourly is timed:
``prune`` (the whole downsampling pass and retention) before, ``expire`` (retention) after.
Extrapolate linearly in series.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from lookout.domain.metrics import Metric
from lookout.storage.series import SeriesStore
from lookout.storage.tables import metadata

T0 = 1_699_920_000.0  # a whole hour
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/"


def run(engine: sa.Engine, series: int, interval: float) -> None:
    store = SeriesStore()
    metric = Metric("value", 1.0, "%", 80.0, 90.0, 0.0, 100.0)
    names = [(f"host{i // 10}", f"service {i % 10}") for i in range(series)]
    rolls: list[float] = []
    writes: list[float] = []
    end = T0 + 3600 + 300  # an hour and its roll-up lag
    now = T0
    while now <= end:
        for host, service in names:
            store.add(host, service, (metric,), now)
        t0 = time.perf_counter()
        with engine.begin() as conn:
            store.write_pending(conn, store.take_pending())
        t1 = time.perf_counter()
        if hasattr(store, "roll_up"):
            with engine.begin() as conn:
                store.roll_up(conn, now)
            rolls.append(time.perf_counter() - t1)
        writes.append(t1 - t0)
        now += interval
    incremental = hasattr(store, "expire")
    t0 = time.perf_counter()
    with engine.begin() as conn:
        if incremental:
            store.expire(conn, now)  # what the site's hourly prune does now
        else:
            store.prune(conn, now)
    pruned = time.perf_counter() - t0
    print(f"{series:,} series, a point every {interval:g} s, {len(writes)} checkpoints")
    print(f"  write per checkpoint     median {statistics.median(writes):7.3f} s")
    if rolls:
        print(
            f"  roll-up per checkpoint   median {statistics.median(rolls):7.3f} s   "
            f"max {max(rolls):7.3f} s   total {sum(rolls):7.2f} s"
        )
    what = "retention (expire)" if incremental else "prune (roll-up + retention)"
    print(f"  hourly {what:<28} {pruned:7.3f} s  (one writer-thread stall)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=20_000)
    ap.add_argument("--interval", type=float, default=60.0)
    ap.add_argument("--postgresql", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.postgresql:
            engine = sa.create_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
            metadata.create_all(engine)
            run(engine, args.series, args.interval)
            engine.dispose()
            return
    name = f"lookout_bench_series_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(sa.make_url(PG).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = sa.create_engine(sa.make_url(PG).set(database=name))
    try:
        metadata.create_all(engine)
        run(engine, args.series, args.interval)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()
