"""A manager root with its front door on free ports, run by a real ``lookout sites serve``."""

from __future__ import annotations

import contextlib
import json
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from livesite import free_port
from lookout.manager.root import Root, init_root
from lookout.manager.supervisor import client_for

CLI = (sys.executable, "-m", "lookout.cli.main")


def door_root(path: Path, *, users: bool = False, **door: Any) -> Root:
    root = init_root(
        path,
        first_port=random.randrange(20000, 32000, 100),
        listen=f"127.0.0.1:{free_port()}",
        agent_listen=f"127.0.0.1:{free_port()}",
        site_users=users,
    )
    if door:
        settings = root.path / "manager.toml"
        extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in door.items())
        settings.write_text(settings.read_text().replace("[saas]\n", f"{extra}\n[saas]\n"))
        root = Root(root.path)
    return root


def sites(root: Root, *args: str) -> Any:
    out = subprocess.run(
        [*CLI, "sites", *args, "--root", str(root.path), "--json"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    return json.loads(out)


@contextlib.contextmanager
def supervised(root: Root) -> Iterator[subprocess.Popen[bytes]]:
    """``lookout sites serve`` for ``root`` until its socket and both door ports answer."""
    log = (root.path / "supervisor.log").open("ab")
    proc = subprocess.Popen([*CLI, "sites", "serve", str(root.path)], stdout=log, stderr=log)
    try:
        door = root.settings.door
        deadline = time.monotonic() + 120  # a loaded machine: the supervisor imports a lot
        while not (
            client_for(root) is not None
            and _listening(door.listen)
            and _listening(door.agent_listen)
        ):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise AssertionError(f"the supervisor did not start: {proc.poll()}")
            time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        proc.wait(60)


def _listening(listen: str) -> bool:
    host, _, port = listen.rpartition(":")
    with socket.socket() as s:
        return s.connect_ex((host, int(port))) == 0
