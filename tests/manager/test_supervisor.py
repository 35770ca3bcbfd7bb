"""``lookout sites serve``: forks sites fast, restarts one that dies, keeps a stopped one
stopped, and stops them all when it is stopped; the CLI goes through it."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psutil
import pytest

from lookout.manager.root import Root
from lookout.manager.supervisor import client_for

pytestmark = pytest.mark.integration
CLI = (sys.executable, "-m", "lookout.cli.main")


def wait_for(cond: Callable[[], Any], timeout: float = 30.0, what: str = "it") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def sites(root: Root, *args: str) -> str:
    return subprocess.run(
        [*CLI, "sites", *args, "--root", str(root.path)],
        capture_output=True, text=True, check=True, timeout=120,
        env={**os.environ, "COLUMNS": "200"},  # table rows on one line each
    ).stdout  # fmt: skip


@pytest.fixture
def supervisor(root: Root) -> Iterator[subprocess.Popen[bytes]]:
    log = (root.path / "supervisor.log").open("ab")
    proc = subprocess.Popen([*CLI, "sites", "serve", str(root.path)], stdout=log, stderr=log)
    try:
        wait_for(lambda: client_for(root) is not None, what="the supervisor's socket")
        yield proc
    finally:
        proc.terminate()
        proc.wait(60)


def ready(url: str) -> bool:
    try:
        return httpx.get(url + "/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_the_supervisor_forks_restarts_and_stops_sites(
    root: Root, supervisor: subprocess.Popen[bytes]
) -> None:
    new = json.loads(sites(root, "create", "alpha", "--json"))
    assert new["seconds"] < 5  # the figure itself is measured by bench/sites.py
    assert ready(new["url"])
    pid = root.record("alpha").pid
    assert pid is not None
    assert psutil.Process(pid).ppid() == supervisor.pid  # forked, not a new interpreter

    os.kill(pid, signal.SIGKILL)  # a crash: the supervisor reaps it and starts it again
    began = time.monotonic()
    wait_for(lambda: root.record("alpha").pid not in (None, pid), what="a restart")
    wait_for(lambda: ready(new["url"]), what="the restarted site")
    assert time.monotonic() - began < 10  # the first crash is restarted at once
    with pytest.raises(psutil.NoSuchProcess):  # reaped: no zombie stays
        psutil.Process(pid)
    assert [z for z in psutil.Process(supervisor.pid).children() if z.status() == "zombie"] == []
    row = json.loads(sites(root, "list", "--json"))[0]
    assert (row["crashes"], row["last_exit"]) == (1, "killed by SIGKILL")
    assert "1 (killed by SIGKILL)" in sites(root, "list")

    stopped = json.loads(sites(root, "stop", "alpha", "--json"))
    assert (stopped["wanted"], stopped["crashes"]) == ("stopped", 0)  # a stop starts again
    time.sleep(1.5)  # a few supervisor turns: a stopped site stays stopped
    assert not ready(new["url"])
    assert json.loads(sites(root, "list", "--json"))[0]["state"] == "stopped"
    sites(root, "start", "alpha")
    assert ready(new["url"])

    supervisor.terminate()
    assert supervisor.wait(60) == 0
    assert not ready(new["url"])
    assert root.record("alpha").wanted == "running"  # the next supervisor starts it again


def test_a_crash_loop_backs_off_and_ends_when_the_site_is_fixed(
    root: Root, supervisor: subprocess.Popen[bytes]
) -> None:
    new = json.loads(sites(root, "create", "alpha", "--json"))
    settings = root.site_dir("alpha") / "lookout.toml"
    good = settings.read_text()
    settings.write_text(good + "\nno_such_setting = 1\n")  # every start now fails
    pid = root.record("alpha").pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    seen: list[tuple[int, float]] = []

    def crashes() -> bool:
        n = root.record("alpha").crashes
        if not seen or seen[-1][0] != n:
            seen.append((n, time.monotonic()))
        return n >= 4

    wait_for(crashes, timeout=60, what="four crashes in a row")
    assert root.record("alpha").last_exit == "did not start"
    gaps = [b[1] - a[1] for a, b in itertools.pairwise(seen) if a[0] >= 2]
    assert gaps
    assert all(g >= 0.9 for g in gaps)
    children = psutil.Process(supervisor.pid).children()
    assert [c.pid for c in children if c.status() == "zombie"] == []
    settings.write_text(good)
    wait_for(lambda: ready(new["url"]), timeout=30, what="the fixed site")
    assert json.loads(sites(root, "list", "--json"))[0]["state"] == "running"


def test_the_supervisor_backs_sites_up_on_schedule_keeping_the_newest(root: Root) -> None:
    settings = root.path / "manager.toml"
    text = settings.read_text().replace("backup_every = 86400.0", "backup_every = 1.0")
    settings.write_text(text.replace("backup_keep = 7", "backup_keep = 2"))
    sites(root, "create", "alpha")  # without a supervisor: a lookout serve subprocess
    assert root.backups("alpha").exists() is False
    log = (root.path / "supervisor.log").open("ab")
    proc = subprocess.Popen([*CLI, "sites", "serve", str(root.path)], stdout=log, stderr=log)
    try:
        first = wait_for(lambda: list(root.backups("alpha").glob("*.tar")), what="a backup")
        wait_for(
            lambda: first[0] not in root.backups("alpha").glob("*.tar"),
            what="the first backup replaced by newer ones",
        )
        assert len(list(root.backups("alpha").glob("*.tar"))) <= 2
    finally:
        proc.terminate()
        proc.wait(60)
