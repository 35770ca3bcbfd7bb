"""A longer schemathesis run over the REST API than the test suite's (issue 16).

    .venv/bin/python bench/fuzz_api.py [--examples 100] [--seed 16] [--workers 1] [--keep]

Starts a throwaway SQLite site, seeds it (a host with services and metrics whose names the run
draws half of its host/service values from), runs the coverage and fuzzing phases over every
operation but token revocation with ``--examples`` generated cases each, restarts the site and
checks it comes back, then fuzzes ``DELETE /api/v1/tokens/{id}`` last (it may revoke the run's
own token). Any 5xx fails the run; schemathesis prints a curl line for each. The CI test
(tests/web/api/test_fuzz_openapi.py) is the same with 10 examples. Exit code 1 on a 5xx.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fuzzapi import REVOKE, FuzzRun, fuzz, seed_site
from livesite import make_site


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--examples", type=int, default=100, help="generated cases per operation")
    p.add_argument("--seed", type=int, default=16)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--keep", action="store_true", help="keep the site directory (and its log)")
    args = p.parse_args()
    base = Path(tempfile.mkdtemp(prefix="lookout-fuzz-"))
    site = make_site(base / "site", tick_interval=0.2)
    site.start()
    runs: list[tuple[str, FuzzRun]] = []
    try:
        seed_site(site)
        opts = {"max_examples": args.examples, "seed": args.seed, "workers": args.workers}
        main_run = fuzz(site, site.token, **opts, timeout=3600, filters=("--exclude-path", REVOKE))
        runs.append(("all but token revocation", main_run))
        site.stop()
        site.start()  # raises if the site does not come back
        with site.client() as admin:
            r = admin.post("/api/v1/tokens", json={"name": "fuzz-revoke", "role": "admin"})
            r.raise_for_status()
        revoke_run = fuzz(site, r.json()["token"], **opts, filters=("--include-path", REVOKE))
        runs.append(("token revocation", revoke_run))
    finally:
        site.stop()
    for name, run in runs:
        print(run.summary(12) if run.ok else run.output)
        print(f"[{'ok' if run.ok else 'FAIL'}] {name}: {run.seconds:.1f} s")
    if args.keep:
        print(f"site directory (serve.log): {base}")
    else:
        shutil.rmtree(base, ignore_errors=True)
    return 0 if all(run.ok for _, run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
