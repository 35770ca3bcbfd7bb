"""Configuration-as-code benchmark: Nagios import and config apply against a real site.

    .venv/bin/python bench/configcode.py [--nagios-hosts 10000] [--hosts 10000] [--services 10]

1. ``lookout import nagios`` of a generated configuration (Debian's sample templates,
   ``tests/configcode/nagiosgen.py``; needs nagios4-common) writing the tree (``--out``).
2. ``lookout config apply`` of hosts × services (a tree written by export's writer) against a
   ``lookout serve`` site (tests/livesite.py): the first apply creates everything, the second
   changes nothing (with the CLI's parse cache, and once without it).
Each figure is one line, [ok] or [MISS] against the target of issue 11. The site runs with
``default_host_check = "none"``: the figures are for applying, not for checking the hosts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from configcode.nagiosgen import write_config
from livesite import make_site
from lookout.configcode.files import write_tree

TARGETS = {"import_s": 10.0, "apply_s": 20.0, "noop_s": 3.0}


def line(name: str, value: float, unit: str, target: float) -> None:
    mark = "ok " if value <= target else "MISS"
    print(f"[{mark}] {name:<52} {value:>10,.2f} {unit:<4} (target ≤ {target:,})", flush=True)


def info(name: str, value: float, unit: str) -> None:
    print(f"       {name:<52} {value:>10,.2f} {unit}", flush=True)


def lookout(*args: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "lookout.cli.main", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    took = time.perf_counter() - started
    if run.returncode != 0:
        raise SystemExit(
            f"lookout {' '.join(args)} failed:\n{run.stdout[-2000:]}{run.stderr[-2000:]}"
        )
    return took


def tree(hosts: int, services: int) -> dict[str, Any]:
    return {
        "hosts": [
            {
                "name": f"host{h:05d}",
                "address": f"10.{h // 65536}.{h // 256 % 256}.{h % 256}",
                "labels": {"rack": f"r{h % 40}", "os": "linux"},
                "groups": [f"rack{h % 40}"],
                "services": [
                    {
                        "name": f"Filesystem /data{s}",
                        "params": {"levels": [80, 90]},
                        "labels": {"team": "storage"},
                        "check_interval": 300.0,
                    }
                    for s in range(services)
                ],
            }
            for h in range(hosts)
        ],
        "host_groups": [{"name": f"rack{r}", "alias": f"Rack {r}"} for r in range(40)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nagios-hosts", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--services", type=int, default=10)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="lookout-bench-config-"))
    try:
        env = {"XDG_CACHE_HOME": str(base / "cache")}
        if Path("/etc/nagios4/objects/templates.cfg").is_file():
            main_cfg = write_config(base / "nagios", args.nagios_hosts)
            took = lookout(
                "import", "nagios", str(main_cfg), "--out", str(base / "imported"), env=env
            )
            line(
                f"import nagios, {args.nagios_hosts:,} hosts (→ YAML tree)",
                took,
                "s",
                TARGETS["import_s"],
            )
        else:
            print("[MISS] import nagios: Debian nagios4-common is not installed")
        directory = base / "tree"
        write_tree(directory, tree(args.hosts, args.services))
        n = args.hosts * args.services
        # the generated hosts have addresses and no host check: without this the site would
        # run the default alive check on 10,000 unroutable addresses while we measure apply
        site = make_site(base / "site", default_host_check="none")
        site.start()
        try:
            env |= {"LOOKOUT_URL": site.url, "LOOKOUT_TOKEN": site.token}
            took = lookout("config", "apply", str(directory), env=env)
            line(f"config apply, {n:,} services created", took, "s", TARGETS["apply_s"])
            took = lookout("config", "apply", str(directory), env=env)
            line(f"config apply, {n:,} services, no change", took, "s", TARGETS["noop_s"])
            cold = {**env, "XDG_CACHE_HOME": str(base / "cold-cache")}
            took = lookout("config", "apply", str(directory), env=cold)
            info("  the same without the CLI's parse cache", took, "s")
            took = lookout("config", "export", str(base / "exported"), env=env)
            info(f"config export, {n:,} services", took, "s")
        finally:
            site.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
