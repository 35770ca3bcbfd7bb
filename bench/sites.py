"""Site manager benchmark (issue 13): how fast a new site answers, and what idle sites cost.

    .venv/bin/python bench/sites.py [--sites 10] [--idle 30]

Makes a manager root in a temporary directory and starts its supervisor
(``lookout sites serve``), then:

1. creates ``--sites`` sites one after the other through the CLI (``lookout sites create
   --json``): the supervisor's time from the request to the site answering /readyz, and the
   command's wall time (which adds the CLI's own start-up);
2. leaves them idle for ``--idle`` seconds and measures the proportional set size (PSS: shared
   pages divided among the processes sharing them) of the supervisor and every site, and their
   CPU time over the idle period; both are extrapolated linearly to 100 sites.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

CLI = (sys.executable, "-m", "lookout.cli.main")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=10)
    ap.add_argument("--idle", type=float, default=30.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        subprocess.run([*CLI, "sites", "init", str(root), "--first-port", "21000"], check=True,
                       capture_output=True)  # fmt: skip
        env = {**os.environ, "LOOKOUT_SITES_ROOT": str(root)}
        sup = subprocess.Popen([*CLI, "sites", "serve"], env=env, stderr=subprocess.DEVNULL)
        try:
            while not (root / "run" / "manager.sock").exists():
                time.sleep(0.05)
            run(root, env, sup, args.sites, args.idle)
        finally:
            sup.terminate()
            sup.wait(120)


def run(root: Path, env: dict[str, str], sup: subprocess.Popen[bytes], n: int, idle: float) -> None:
    inside, wall = [], []
    for i in range(n):
        t0 = time.monotonic()
        out = subprocess.run([*CLI, "sites", "create", f"site{i:03d}", "--json"], env=env,
                             check=True, capture_output=True, text=True).stdout  # fmt: skip
        wall.append(time.monotonic() - t0)
        inside.append(json.loads(out)["seconds"])
    print(f"create, supervisor to /readyz: median {statistics.median(inside):.3f} s, "
          f"max {max(inside):.3f} s ({n} sites)")  # fmt: skip
    print(f"create, CLI wall time:         median {statistics.median(wall):.3f} s, "
          f"max {max(wall):.3f} s")  # fmt: skip
    time.sleep(5)  # settle after the last start
    procs = [psutil.Process(sup.pid), *psutil.Process(sup.pid).children()]
    cpu0 = sum(sum(p.cpu_times()[:2]) for p in procs)
    time.sleep(idle)
    cpu1 = sum(sum(p.cpu_times()[:2]) for p in procs)
    pss = [p.memory_full_info().pss for p in procs]
    rss = [p.memory_info().rss for p in procs]
    sites_pss = sum(pss[1:])
    cpu = (cpu1 - cpu0) / idle * 100
    print(f"idle {n} sites: PSS {sites_pss / 2**20:.0f} MiB (+ supervisor "
          f"{pss[0] / 2**20:.0f} MiB), RSS per site {statistics.median(rss[1:]) / 2**20:.0f} "
          f"MiB; CPU {cpu:.2f} % of one core")  # fmt: skip
    print(f"extrapolated to 100 sites: PSS {(sites_pss * 100 / n + pss[0]) / 2**30:.2f} GiB, "
          f"CPU {cpu * 100 / n:.1f} % of one core")  # fmt: skip


if __name__ == "__main__":
    main()
