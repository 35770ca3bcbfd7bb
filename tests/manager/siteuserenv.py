"""Sites under Unix users in tests: an interpreter every user can run, a directory other
users may pass through, a user prefix of the test's own (its users deleted afterwards), and a
supervisor run with that interpreter (a module of its own: tests/manager/test_siteusers.py
and the sign-up tests share it)."""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lookout_agent

import lookout
from lookout.errors import ConfigError
from lookout.manager.root import Root
from lookout.manager.siteusers import check_runnable
from lookout.manager.supervisor import client_for


@dataclass(frozen=True)
class Python:
    """An interpreter every user can run, and the environment that finds Lookout with it."""

    exe: str
    env: dict[str, str]

    def cli(self, root: Root, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.exe, "-m", "lookout.cli.main", "sites", *args, "--root", str(root.path)],
            capture_output=True, text=True, timeout=120, env=self.env,
        )  # fmt: skip

    def json(self, root: Root, *args: str) -> Any:
        done = self.cli(root, *args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


def public_python() -> Python | None:
    """This Python when other users can run it, else the system's of the same version with
    this one's packages on PYTHONPATH (None: there is none)."""
    try:
        check_runnable()
        return Python(sys.executable, dict(os.environ))
    except ConfigError:
        pass
    exe = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    if not exe.exists():
        return None
    mine = [p for p in sys.path if p and Path(p).is_dir() and not p.startswith(sys.base_prefix)]
    # an editable install may find a package by an import hook, not by a path entry
    packages = [str(Path(m.__file__).parent.parent) for m in (lookout, lookout_agent)]
    path = list(dict.fromkeys([*packages, *mine]))
    return Python(str(exe), {**os.environ, "PYTHONPATH": os.pathsep.join(path)})


@contextlib.contextmanager
def supervised(python: Python, root: Root) -> Iterator[subprocess.Popen[bytes]]:
    """``lookout sites serve`` run by ``python`` until its socket (and agent door) answer."""
    log = (root.path / "supervisor.log").open("ab")
    argv = [python.exe, "-m", "lookout.cli.main", "sites", "serve", str(root.path)]
    proc = subprocess.Popen(argv, stdout=log, stderr=log, env=python.env)
    try:
        deadline = time.monotonic() + 120
        agents = root.settings.door.agent_listen
        while client_for(root) is None or (agents and not _listening(agents)):
            assert proc.poll() is None, "the supervisor ended"
            assert time.monotonic() < deadline, "no supervisor socket"
            time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        proc.wait(60)


def _listening(listen: str) -> bool:
    host, _, port = listen.rpartition(":")
    with socket.socket() as s:
        return s.connect_ex((host, int(port))) == 0


@contextlib.contextmanager
def user_prefix() -> Iterator[str]:
    """A user prefix of its own; every user and group with it is deleted after."""
    mine = f"lt{secrets.token_hex(3)}-"
    try:
        yield mine
    finally:
        for pw in pwd.getpwall():
            if pw.pw_name.startswith(mine):
                subprocess.run(["userdel", pw.pw_name], check=False, capture_output=True)
        for gr in grp.getgrall():
            if gr.gr_name.startswith(mine):
                subprocess.run(["groupdel", gr.gr_name], check=False, capture_output=True)


@contextlib.contextmanager
def passable_dir() -> Iterator[Path]:
    """A directory other users may pass through (pytest's own temporary ones are 0700)."""
    path = Path(tempfile.mkdtemp(prefix="lookout-siteusers-"))
    os.chmod(path, 0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def with_prefix(root: Root, prefix: str) -> Root:
    settings = root.path / "manager.toml"
    text = settings.read_text().replace('user_prefix = "lookout-"', f'user_prefix = "{prefix}"')
    settings.write_text(text)
    return Root(root.path)
