"""Start-up benchmark (issues 13 and 19): ``lookout serve`` to a ready ``/readyz``, and the CLI.

    .venv/bin/python bench/startup.py [--services 10000 100000] [--runs 3]

Targets: ``lookout serve`` with 10,000 services ready in ≤ 0.5 s and with 100,000 in ≤ 1 s
(issue 19), measured from the process start (interpreter and imports included) to the first
200 from ``/readyz``; the CLI's own start-up (``lookout --help``, ``lookout sites --help``)
is printed beside it, as ``lookout sites create`` pays it (issue 13: ≤ 1 s to a site that
answers). Each site is seeded as ``bench/ingest.py`` seeds one (10 services a host, one result
each, checkpointed). Medians of ``--runs``; on a loaded machine the figures are upper bounds,
so the CPU seconds the site's process (and, apart, its ingest fronts) had used when it was
ready are printed too, with the load average: they depend much less on the machine's load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import seed_site

CLI = (sys.executable, "-m", "lookout.cli.main")
TARGETS = {10_000: 0.5, 100_000: 1.0}


def serve_seconds(site_dir: Path, url: str) -> tuple[float, float, float]:
    """Seconds from starting ``lookout serve`` to the first 200 from ``/readyz``, and the CPU
    seconds the site's process and its children (the ingest fronts) had used by then."""
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [*CLI, "serve", str(site_dir), "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(timeout=1.0) as client:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"lookout serve exited with {proc.returncode}")
                try:
                    if client.get(f"{url}/readyz").status_code == 200:
                        return time.monotonic() - t0, *_cpu(proc.pid)
                except httpx.TransportError:
                    pass
                time.sleep(0.01)
    finally:
        proc.terminate()
        proc.wait(60)


def _cpu(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) of process ``pid`` and of its children."""
    site = psutil.Process(pid)
    own = site.cpu_times()
    children = 0.0
    for child in site.children(recursive=True):
        try:
            t = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        children += t.user + t.system
    return own.user + own.system, children


def cli_seconds(*args: str) -> float:
    t0 = time.monotonic()
    subprocess.run([*CLI, *args], check=True, capture_output=True)
    return time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--services", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    for what in (("--help",), ("sites", "--help"), ("sites", "create", "--help")):
        runs = [cli_seconds(*what) for _ in range(args.runs)]
        print(
            f"lookout {' '.join(what)}: median {statistics.median(runs):.3f} s ({args.runs} runs)"
        )
    for n in args.services:
        with tempfile.TemporaryDirectory(prefix="lookout-bench-") as tmp:
            live = seed_site(Path(tmp) / "site", max(n // 10, 1), 10)
            measured = [serve_seconds(live.dir, live.url) for _ in range(args.runs)]
        runs = [wall for wall, _, _ in measured]
        got = statistics.median(runs)
        goal = TARGETS.get(n)
        mark = "" if goal is None else f"  [{'ok' if got <= goal else 'MISS'}] ≤ {goal} s"
        print(f"lookout serve to /readyz, {n:,} services: median {got:.3f} s, "
              f"runs {', '.join(f'{r:.2f}' for r in runs)}{mark}")  # fmt: skip
        site_cpu = statistics.median(cpu for _, cpu, _ in measured)
        fronts_cpu = statistics.median(cpu for _, _, cpu in measured)
        print(f"  CPU by then: the site {site_cpu:.3f} s, its fronts {fronts_cpu:.3f} s "
              f"(medians); load average {os.getloadavg()[0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
