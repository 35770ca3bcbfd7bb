"""Unattended update of many sites (issue 13): ``lookout sites update --all --parallel N``
with one failure injected, against "100 sites, 99 updated, 1 restored and running".

    .venv/bin/python bench/fleet.py [--sites 100] [--parallel 4]

Makes a manager root in a temporary directory, starts its supervisor (``lookout sites
serve``), creates ``--sites`` sites through it, then runs ``lookout sites update --all
--parallel N --json`` with ``LOOKOUT_SITES_UPDATE_FAIL=verify@<one site>`` and reports the wall
time, the outcome counts, and whether the failed site is back: running (``/readyz`` answers) at
its old version.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from lookout.manager.root import Root
from lookout.manager.supervisor import client_for

CLI = (sys.executable, "-m", "lookout.cli.main")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=100)
    ap.add_argument("--parallel", type=int, default=4)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "root"
        subprocess.run([*CLI, "sites", "init", str(path), "--first-port", "22000",
                        "--no-site-users",
                        "--listen", "", "--agent-listen", ""], check=True,
                       capture_output=True)  # fmt: skip
        root = Root(path)
        log = (path / "supervisor.log").open("ab")
        sup = subprocess.Popen([*CLI, "sites", "serve", str(path)], stdout=log, stderr=log)
        try:
            while client_for(root) is None:
                time.sleep(0.05)
            run(root, args.sites, args.parallel)
        finally:
            sup.terminate()
            sup.wait(300)
            log.close()


def run(root: Root, n: int, parallel: int) -> None:
    t0 = time.monotonic()
    for i in range(n):
        client = client_for(root)
        assert client is not None
        client("create", {"name": f"site{i:03d}"})
    print(f"created {n} sites in {time.monotonic() - t0:.1f} s (through the supervisor)")
    victim = f"site{n // 2:03d}"
    env = {**os.environ, "LOOKOUT_SITES_UPDATE_FAIL": f"verify@{victim}"}
    t0 = time.monotonic()
    done = subprocess.run(
        [*CLI, "sites", "update", "--all", "--parallel", str(parallel), "--json",
         "--root", str(root.path)],
        capture_output=True, text=True, env=env, timeout=3600,
    )  # fmt: skip
    wall = time.monotonic() - t0
    outcomes = [json.loads(line) for line in done.stdout.splitlines()]
    counts = collections.Counter(o["result"] for o in outcomes)
    seconds = sorted(o["seconds"] for o in outcomes)
    rec = root.record(victim)
    back = httpx.get(f"http://{root.settings.host}:{rec.http_port}/readyz", timeout=10)
    victim_ok = back.status_code == 200 and counts["restored"] == 1
    running = sum(1 for name in root.names() if _ready(root, name))
    median = seconds[len(seconds) // 2]
    print(f"update --all --parallel {parallel}: {wall:.1f} s wall, exit {done.returncode}; "
          f"per site median {median:.1f} s, max {seconds[-1]:.1f} s")  # fmt: skip
    print(f"outcomes: {dict(counts)}; {victim} restored and answering /readyz: {victim_ok}; "
          f"sites answering /readyz afterwards: {running}/{n}")  # fmt: skip
    for o in outcomes:
        if o["result"] != "updated":
            print(f"  {o['name']}: {o['result']} at {o['step']}: {o['error']}")
    met = n >= 100 and counts["updated"] == n - 1 and victim_ok and running == n
    print(f"{'[ok]' if met else '[MISS]'} {n} sites, {counts['updated']} updated, "
          f"{counts['restored']} restored and running (target: 100 sites, 99 updated, 1 restored "
          "and running)")  # fmt: skip


def _ready(root: Root, name: str) -> bool:
    rec = root.record(name)
    try:
        url = f"http://{root.settings.host}:{rec.http_port}/readyz"
        return httpx.get(url, timeout=10).status_code == 200
    except httpx.TransportError:
        return False


if __name__ == "__main__":
    main()
