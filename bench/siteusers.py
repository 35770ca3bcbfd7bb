"""Sites under Unix users of their own (issue 13): what a user per site adds to ``lookout sites
create``, and how soon the supervisor brings a SIGKILLed site back (it reaps it and restarts a
first crash at once).

    .venv/bin/python bench/siteusers.py [--sites 3]

Must run as root. For each mode (one user for every site, a user per site) it makes a manager
root, starts its supervisor, creates ``--sites`` sites one after the other through the CLI
(the figure: the create's own ``seconds``, from the request to an answering /readyz), then
SIGKILLs each site and times until /readyz answers from a new process. The users made get a
prefix of this run and are deleted at the end. When this Python is not readable by other
users (one under /root), both modes run with the system's Python of the same version and this
one's packages, as tests/manager/test_siteusers.py does.
"""

from __future__ import annotations

import argparse
import grp
import json
import os
import pwd
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from lookout.errors import ConfigError
from lookout.manager.root import Root
from lookout.manager.siteusers import check_runnable
from lookout.manager.supervisor import client_for


def interpreter() -> tuple[str, dict[str, str]]:
    try:
        check_runnable()
        return sys.executable, dict(os.environ)
    except ConfigError:
        pass
    exe = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
    mine = [p for p in sys.path if p and Path(p).is_dir() and not p.startswith(sys.base_prefix)]
    return exe, {**os.environ, "PYTHONPATH": os.pathsep.join(mine)}


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def run(users: bool, n: int, exe: str, env: dict[str, str], prefix: str) -> None:
    place = Path(tempfile.mkdtemp(prefix="lookout-bench-users-"))
    os.chmod(place, 0o711)
    cli = [exe, "-m", "lookout.cli.main", "sites"]
    try:
        path = place / "root"
        first = str(random.randrange(20000, 32000, 100))
        subprocess.run([*cli, "init", str(path), "--first-port", first,
                        "--listen", "", "--agent-listen", "",
                        "--site-users" if users else "--no-site-users"],
                       check=True, capture_output=True, env=env)  # fmt: skip
        settings = path / "manager.toml"
        settings.write_text(
            settings.read_text().replace('user_prefix = "lookout-"', f'user_prefix = "{prefix}"')
        )
        root = Root(path)
        sup = subprocess.Popen([*cli, "serve", str(path)], env=env, stderr=subprocess.DEVNULL)
        try:
            while client_for(root) is None:
                time.sleep(0.05)
            made = []
            for i in range(n):
                argv = [*cli, "create", f"s{i}", "--root", str(path), "--json"]
                out = subprocess.run(argv, check=True, capture_output=True, text=True, env=env)
                made.append(json.loads(out.stdout))
            back = []
            for new in made:
                old = root.record(new["name"]).pid
                assert old is not None
                os.kill(old, signal.SIGKILL)
                t0 = time.monotonic()
                while root.record(new["name"]).pid in (None, old) or not ready(new["url"]):
                    time.sleep(0.02)
                back.append(time.monotonic() - t0)
            owners = {root.record(m["name"]).user or "(the manager's)" for m in made}
            mode = "a user per site" if users else "one user"
            took = [m["seconds"] for m in made]
            print(f"{mode:16s}: create median {statistics.median(took):.2f} s "
                  f"(max {max(took):.2f}); back after SIGKILL median "
                  f"{statistics.median(back):.2f} s (max {max(back):.2f}); users: "
                  f"{len(owners)}")  # fmt: skip
        finally:
            sup.terminate()
            sup.wait(120)
    finally:
        shutil.rmtree(place, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", type=int, default=3)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: a user per site needs useradd")
    exe, env = interpreter()
    prefix = f"lb{secrets.token_hex(3)}-"
    print(f"{args.sites} sites per mode; {exe}; load average {os.getloadavg()[0]:.1f}")
    try:
        run(False, args.sites, exe, env, prefix)
        run(True, args.sites, exe, env, prefix)
    finally:
        for pw in pwd.getpwall():
            if pw.pw_name.startswith(prefix):
                subprocess.run(["userdel", pw.pw_name], check=False, capture_output=True)
        for gr in grp.getgrall():
            if gr.gr_name.startswith(prefix):
                subprocess.run(["groupdel", gr.gr_name], check=False, capture_output=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
