"""A manager root in a temporary directory; every site it started is stopped afterwards."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from managerroot import make_root, stop_all

from lookout.manager.manager import Manager
from lookout.manager.root import Root
from lookout.manager.supervisor import client_for

CLI = (sys.executable, "-m", "lookout.cli.main")


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Root]:
    r = make_root(tmp_path / "root")
    try:
        yield r
    finally:
        stop_all(r)


@pytest.fixture
def manager(root: Root) -> Manager:
    return Manager(root)


@pytest.fixture
def supervisor(root: Root) -> Iterator[None]:
    """``lookout sites serve ROOT`` running (stopped with SIGTERM afterwards)."""
    log = (root.path / "supervisor.log").open("ab")
    proc = subprocess.Popen([*CLI, "sites", "serve", str(root.path)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while client_for(root) is None:
            assert time.monotonic() < deadline, "the supervisor's socket never came"
            time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        proc.wait(60)
        log.close()
