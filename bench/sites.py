"""Site manager benchmark (issue 13): how fast a new site answers, and what idle sites cost.

    .venv/bin/python bench/sites.py [--sites 10] [--idle 30] [--first-port 21000]

Targets (issue 13): a site answers within 1 s of ``lookout sites create`` (CLI included);
100 idle sites take at most 4 GiB PSS and 10 % of one core in total (supervisor and front door
included). With fewer than 100 sites the figures are extrapolated: the pages all share counted
once, each site's private pages (USS) and CPU times 100. Figures on a loaded machine are upper
bounds.

Makes a manager root in a temporary directory and starts its supervisor
(``lookout sites serve``), then:

1. creates ``--sites`` sites one after the other through the CLI (``lookout sites create
   --json``): the supervisor's time from the request to the site answering /readyz, and the
   command's wall time (which adds the CLI's own start-up);
2. leaves them idle for ``--idle`` seconds and measures the proportional set size (PSS: shared
   pages divided among the processes sharing them) of the supervisor and every site, and their
   CPU time over the idle period; both are extrapolated to 100 sites as above.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
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
    ap.add_argument("--first-port", type=int, default=21000, help="the sites' first port")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        subprocess.run([*CLI, "sites", "init", str(root), "--first-port", str(args.first_port),
                        "--no-site-users",
                        "--listen", f"127.0.0.1:{free_port()}",
                        "--agent-listen", f"127.0.0.1:{free_port()}"],
                       check=True, capture_output=True)  # fmt: skip
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
    inside, wall, cpu = [], [], []
    for i in range(n):
        t0, c0 = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run([*CLI, "sites", "create", f"site{i:03d}", "--json"], env=env,
                              capture_output=True, text=True)  # fmt: skip
        if done.returncode:
            raise SystemExit(f"sites create site{i:03d} failed: {done.stderr.strip()}")
        out = done.stdout
        wall.append(time.monotonic() - t0)
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(c1.ru_utime - c0.ru_utime + c1.ru_stime - c0.ru_stime)
        inside.append(json.loads(out)["seconds"])
    print(f"create, supervisor to /readyz: median {statistics.median(inside):.3f} s, "
          f"max {max(inside):.3f} s ({n} sites)")  # fmt: skip
    print(f"create, CLI wall time:         median {statistics.median(wall):.3f} s, "
          f"max {max(wall):.3f} s")  # fmt: skip
    print(f"create, the CLI's own CPU time: median {statistics.median(cpu):.3f} s "
          f"(its start-up; less bent by other load than wall times)")  # fmt: skip
    print(f"  [{'ok' if statistics.median(wall) <= 1.0 else 'MISS'}] create ≤ 1 s with the CLI"
          f" (load average {os.getloadavg()[0]:.1f})")  # fmt: skip
    time.sleep(5)  # settle after the last start
    site_pids = {json.loads((root / "state" / f"site{i:03d}.json").read_text())["pid"]
                 for i in range(n)}  # fmt: skip
    top = psutil.Process(sup.pid)
    sites = [p for p in top.children(recursive=True) if p.pid in site_pids]
    sites += [c for p in sites for c in p.children(recursive=True)]  # helpers, if any
    others = [top] + [p for p in top.children() if p.pid not in site_pids]  # + the door
    cpu0 = {p.pid: sum(p.cpu_times()[:2]) for p in [*sites, *others]}
    time.sleep(idle)
    cpu_sites = sum(sum(p.cpu_times()[:2]) - cpu0[p.pid] for p in sites) / idle * 100
    cpu_others = sum(sum(p.cpu_times()[:2]) - cpu0[p.pid] for p in others) / idle * 100
    full = {p.pid: p.memory_full_info() for p in [*sites, *others]}
    pss_sites = sum(full[p.pid].pss for p in sites)
    pss_others = sum(full[p.pid].pss for p in others)
    rss = statistics.median(p.memory_info().rss for p in sites)
    uss_sites = [full[p.pid].uss for p in sites]
    uss_others = sum(full[p.pid].uss for p in others)
    shared = pss_sites + pss_others - sum(uss_sites) - uss_others
    print(f"idle {n} sites: PSS {pss_sites / 2**20:.0f} MiB (+ supervisor and door "
          f"{pss_others / 2**20:.0f} MiB), RSS per site {rss / 2**20:.0f} MiB, "
          f"private (USS) per site {statistics.median(uss_sites) / 2**20:.1f} MiB, shared by "
          f"all {shared / 2**20:.0f} MiB; CPU {cpu_sites:.2f} % of one core (+ supervisor and "
          f"door {cpu_others:.2f} %)")  # fmt: skip
    # Each site's PSS holds its share of the pages it shares with the supervisor: 1/(n+1) of
    # them, so scaling PSS linearly from a few sites counts those pages many times over. The
    # pages shared stay the supervisor's (the sites are forked from it), so 100 sites take
    # what is shared once plus each site's private pages.
    pss100 = (shared + uss_others + statistics.mean(uss_sites) * 100) / 2**30
    cpu100 = cpu_sites * 100 / n + cpu_others
    how = "measured" if n == 100 else f"extrapolated from {n}: shared once, private × 100"
    print(f"100 sites ({how}): PSS {pss100:.2f} GiB, CPU {cpu100:.1f} % of one core")
    print(f"  [{'ok' if pss100 <= 4 else 'MISS'}] PSS ≤ 4 GiB")
    print(f"  [{'ok' if cpu100 <= 10 else 'MISS'}] CPU ≤ 10 % of one core")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    main()
