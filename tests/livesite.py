"""A real ``lookout serve`` subprocess for integration tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


def wait_ready(
    proc: subprocess.Popen[bytes], url: str, log: Path, what: str, timeout: float, pause: float
) -> bool:
    """Poll ``url`` until it answers 200 (True) or ``timeout`` passes (False); a process that
    exits meanwhile raises with the tail of its ``log``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(pause)
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def kill(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL ``proc`` (if it runs) and reap it."""
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait()


def stop(proc: subprocess.Popen[bytes] | None, grace: float = 10.0) -> None:
    """SIGTERM ``proc`` (if it runs); SIGKILL after ``grace`` seconds."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            kill(proc)


@dataclass
class LiveSite:
    """A ``lookout serve`` subprocess on a free port."""

    dir: Path
    url: str
    token: str
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    args: tuple[str, ...] = ()
    """More options for ``lookout serve`` (``--listen`` for a second process of the site)."""
    log_name: str = "serve.log"

    def start(self, timeout: float = 60.0, probe: str = "/readyz") -> None:
        """Start ``lookout serve`` and wait until ``probe`` answers 200 (``/healthz`` for a
        standby, whose ``/readyz`` answers 503)."""
        self.log = self.dir / self.log_name
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lookout.cli.main",
                "serve",
                str(self.dir),
                "--log-level",
                "warning",
                *self.args,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        if not wait_ready(self.proc, f"{self.url}{probe}", self.log, "server", timeout, 0.05):
            raise RuntimeError(
                f"server not ready after {timeout} s: {self.log.read_text()[-3000:]}"
            )

    def second(self, log_name: str = "serve-2.log") -> LiveSite:
        """Another ``lookout serve`` of the same site (settings, database) on a free port: a
        standby while this one runs (PostgreSQL)."""
        port = free_port()
        return LiveSite(
            dir=self.dir,
            url=f"http://127.0.0.1:{port}",
            token=self.token,
            args=("--listen", f"127.0.0.1:{port}"),
            log_name=log_name,
        )

    def kill(self) -> None:
        kill(self.proc)

    def stop(self) -> None:
        stop(self.proc)

    def client(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token or self.token}"},
            timeout=30,
        )


def make_site(site_dir: Path, database_url: str = "", **extra: object) -> LiveSite:
    from lookout.sites.site import init_site

    port = free_port()
    extra = dict(extra)
    # the agent receiver on a free port too, so that test sites never fight over 8443
    extra.setdefault("agent_receiver", {"listen": f"127.0.0.1:{free_port()}"})
    # the site serves its API alone unless a test asks for ingest fronts (test_results.py runs
    # both ways): two more processes per test site would slow the whole suite
    extra.setdefault("ingest_fronts", 0)
    created = init_site(
        site_dir, listen=f"127.0.0.1:{port}", database_url=database_url, extra=extra
    )
    return LiveSite(dir=site_dir, url=created.url, token=created.token)
