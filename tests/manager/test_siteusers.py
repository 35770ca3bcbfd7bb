"""Run as root, each site has a Unix user of its own: made by ``create`` (no log-in shell, home
= the site's directory), owning the site's files (0600/0700), running the site's process
(forked by the supervisor, or a ``lookout serve`` subprocess), kept by backups and restores,
and deleted by ``remove --purge``. Another site's user cannot open the site's database or keys
(a real ``open()`` as that uid), and the front doors still reach the sites.

The users are real (``useradd``); each run uses a prefix of its own and deletes every user
and group with it afterwards. The site users must be able to run the interpreter: when this
test's own Python is not readable by other users (one under /root), the commands run with the
system's Python of the same version and this one's packages (``PYTHONPATH``)."""

from __future__ import annotations

import errno
import grp
import os
import pwd
import random
import signal
import socket
import ssl
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from cryptography import x509
from frontdoor import door_root
from siteuserenv import Python, passable_dir, public_python, supervised, user_prefix, with_prefix

from lookout.errors import ConfigError
from lookout.manager.manager import Manager
from lookout.manager.root import Root, init_root
from lookout.manager.update import FAIL_ENV

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="making Unix users needs root"),
]


@pytest.fixture(scope="module")
def python() -> Python:
    found = public_python()
    if found is None:
        pytest.skip("no Python that other users can run")
    return found


@pytest.fixture
def prefix() -> Iterator[str]:
    with user_prefix() as mine:
        yield mine


@pytest.fixture
def place() -> Iterator[Path]:
    with passable_dir() as path:
        yield path


def open_as(python: Python, user: str, path: Path) -> int:
    """``open(path)`` in a process running as ``user`` (no groups): 0, or the errno."""
    pw = pwd.getpwnam(user)
    code = f"""
import sys
try:
    open({str(path)!r}, "rb").close()
except OSError as exc:
    sys.exit(exc.errno)
"""
    done = subprocess.run(
        [python.exe, "-I", "-c", code], user=pw.pw_uid, group=pw.pw_gid, extra_groups=[],
        capture_output=True, timeout=60,
    )  # fmt: skip
    return done.returncode


def assert_owned(site_dir: Path, user: str) -> None:
    pw = pwd.getpwnam(user)
    for path in [site_dir, *site_dir.rglob("*")]:
        st = path.lstat()
        assert (st.st_uid, st.st_gid) == (pw.pw_uid, pw.pw_gid), path
        if stat.S_ISDIR(st.st_mode):
            assert stat.S_IMODE(st.st_mode) == 0o700, path
        elif stat.S_ISREG(st.st_mode):
            public = path.suffix == ".pem"  # certificates the site writes 0644 (in 0700)
            assert stat.S_IMODE(st.st_mode) in (
                (0o600, 0o700, 0o644) if public else (0o600, 0o700)
            ), path


def runs_as(pid: int, user: str) -> bool:
    pw = pwd.getpwnam(user)
    proc = psutil.Process(pid)
    return set(proc.uids()) == {pw.pw_uid} and set(proc.gids()) == {pw.pw_gid}


def sni_certificate(port: int, name: str) -> x509.Certificate:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname=name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def test_each_site_runs_as_its_own_user_and_cannot_open_another_sites_files(
    place: Path, prefix: str, python: Python
) -> None:
    root = with_prefix(door_root(place / "root", users=True), prefix)
    with supervised(python, root) as supervisor:
        try:
            made = {name: python.json(root, "create", name) for name in ("alpha", "beta")}
            user = {name: prefix + name for name in made}
            for name in made:
                pw = pwd.getpwnam(user[name])
                assert pw.pw_dir == str(root.site_dir(name))
                assert pw.pw_shell.endswith(("nologin", "false"))
                assert_owned(root.site_dir(name), user[name])
                rec = root.record(name)
                assert rec.user == user[name]
                assert rec.pid is not None
                assert runs_as(rec.pid, user[name])
                assert psutil.Process(rec.pid).ppid() == supervisor.pid  # forked, then dropped
                status = Path(f"/proc/{rec.pid}/status").read_text().splitlines()
                groups = next(line for line in status if line.startswith("Groups:"))
                assert groups.split(":")[1].split() == []  # no supplementary groups kept
                assert "Umask:\t0077" in status

            beta = root.site_dir("beta")
            secret_files = [beta / "lookout.db", *beta.rglob("*.key"), *beta.rglob("*key*.pem")]
            assert len(secret_files) >= 2
            for path in secret_files:
                assert open_as(python, user["alpha"], path) == errno.EACCES, path
            assert open_as(python, user["alpha"], root.site_dir("alpha") / "lookout.db") == 0
            assert open_as(python, user["alpha"], root.path / "manager.toml") == errno.EACCES
            assert open_as(python, user["alpha"], root.path / "state" / "beta.json") == errno.EACCES

            # the doors connect to the sites' ports: both still work
            for name, new in made.items():
                assert httpx.get(f"{new['url']}/readyz", timeout=10).status_code == 200
                door = root.settings.door
                port = int(door.agent_listen.rpartition(":")[2])
                cert = sni_certificate(port, door.agent_host(name))
                names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
                assert door.agent_host(name) in names.value.get_values_for_type(x509.DNSName)

            # a crash: the restarted site runs as its user again
            old = root.record("alpha").pid
            assert old is not None
            os.kill(old, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while root.record("alpha").pid in (None, old) or not _ready(made["alpha"]["url"]):
                assert time.monotonic() < deadline, "alpha did not come back"
                time.sleep(0.05)
            new_pid = root.record("alpha").pid
            assert new_pid is not None
            assert runs_as(new_pid, user["alpha"])

            listed = {r["name"]: r for r in python.json(root, "list")}
            assert listed["alpha"]["user"] == user["alpha"]
            assert listed["alpha"]["own_user"] is True
        finally:
            for name in root.names():
                python.cli(root, "stop", name)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_backup_restore_and_remove_keep_users_and_ownership(
    place: Path, prefix: str, python: Python
) -> None:
    root = with_prefix(plain_root(place / "root"), prefix)
    try:  # no supervisor: each site is a lookout serve subprocess, started as its user
        python.json(root, "create", "gamma")
        gamma = prefix + "gamma"
        rec = root.record("gamma")
        assert rec.pid is not None
        assert runs_as(rec.pid, gamma)
        made = Path(python.json(root, "backup", "gamma")["path"])
        assert stat.S_IMODE(made.stat().st_mode) == 0o600  # root's: site users cannot read it
        assert made.stat().st_uid == 0

        python.json(root, "restore", "gamma")
        assert_owned(root.site_dir("gamma"), gamma)
        rec = root.record("gamma")
        assert rec.pid is not None
        assert runs_as(rec.pid, gamma)

        python.json(root, "restore", "gamma", "--as", "delta")  # a new site: a new user
        delta = prefix + "delta"
        assert_owned(root.site_dir("delta"), delta)
        assert pwd.getpwnam(delta).pw_uid != pwd.getpwnam(gamma).pw_uid
        rec = root.record("delta")
        assert rec.pid is not None
        assert runs_as(rec.pid, delta)

        python.json(root, "remove", "delta")  # a final backup: the user stays for a restore
        assert pwd.getpwnam(delta)
        python.json(root, "remove", "gamma", "--purge")
        with pytest.raises(KeyError):
            pwd.getpwnam(gamma)
        with pytest.raises(KeyError):
            grp.getgrnam(gamma)
    finally:
        for name in root.names():
            python.cli(root, "stop", name)


def test_an_update_and_its_rollback_keep_the_site_its_users(
    place: Path, prefix: str, python: Python
) -> None:
    root = with_prefix(plain_root(place / "root"), prefix)
    try:
        python.json(root, "create", "eta")
        eta = prefix + "eta"
        # backup, stop, migrate (as root), start as eta, then a failure: the rollback
        failing = Python(python.exe, {**python.env, FAIL_ENV: "verify"})
        done = failing.cli(root, "update", "eta")
        assert done.returncode == 2
        assert "was restored and the old site started" in " ".join(done.stderr.split())
        assert_owned(root.site_dir("eta"), eta)  # the backup unpacked, given back to eta
        rec = root.record("eta")
        assert rec.pid is not None
        assert runs_as(rec.pid, eta)
    finally:
        for name in root.names():
            python.cli(root, "stop", name)


def plain_root(path: Path) -> Root:
    """A root without a front door (its default ports are fixed)."""
    return init_root(
        path, listen="", agent_listen="", first_port=random.randrange(20000, 32000, 100)
    )


def test_a_foreign_user_an_unreachable_root_and_a_long_name_are_refused(
    place: Path, prefix: str, tmp_path: Path, python: Python
) -> None:
    root = with_prefix(plain_root(place / "root"), prefix)
    taken = prefix + "taken"
    subprocess.run(["useradd", "--system", "--comment", "someone else", taken], check=True)
    done = python.cli(root, "create", "taken")
    assert done.returncode == 1
    assert "exists and is not Lookout site 'taken'" in done.stderr
    assert not root.exists("taken")
    assert not root.site_dir("taken").exists()
    assert pwd.getpwnam(taken).pw_gecos == "someone else"  # left alone

    done = python.cli(root, "create", "a" + "b" * 30)
    assert done.returncode == 2
    assert "longer than 32" in done.stderr

    hidden = tmp_path / "hidden"  # pytest's temporary directories are 0700
    closed = with_prefix(plain_root(hidden / "root"), prefix)
    done = python.cli(closed, "create", "omega")
    assert done.returncode == 2
    assert "does not let other users through" in " ".join(done.stderr.split())
    assert not closed.exists("omega")
    with pytest.raises(KeyError):
        pwd.getpwnam(prefix + "omega")

    if python.exe != sys.executable:  # this test's own Python is under a closed directory
        with pytest.raises(ConfigError, match="site users cannot run Lookout"):
            Manager(root).create("pyroot")
        assert not root.exists("pyroot")
        with pytest.raises(KeyError):
            pwd.getpwnam(prefix + "pyroot")
