"""``lookout sites serve``: forks sites fast, restarts one that dies, keeps a stopped one
stopped, and stops them all when it is stopped; the CLI goes through it."""

from __future__ import annotations

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

    os.kill(pid, signal.SIGKILL)  # a crash: the supervisor starts it again
    wait_for(lambda: root.record("alpha").pid not in (None, pid), what="a restart")
    wait_for(lambda: ready(new["url"]), what="the restarted site")

    assert json.loads(sites(root, "stop", "alpha", "--json"))["wanted"] == "stopped"
    time.sleep(1.5)  # a few supervisor turns: a stopped site stays stopped
    assert not ready(new["url"])
    assert json.loads(sites(root, "list", "--json"))[0]["state"] == "stopped"
    sites(root, "start", "alpha")
    assert ready(new["url"])

    supervisor.terminate()
    assert supervisor.wait(60) == 0
    assert not ready(new["url"])
    assert root.record("alpha").wanted == "running"  # the next supervisor starts it again


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
