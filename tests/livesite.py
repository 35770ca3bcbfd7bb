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

    def start(self, timeout: float = 60.0) -> None:
        self.log = self.dir / "serve.log"
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
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server not ready after {timeout} s: {self.log.read_text()[-3000:]}")

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
    created = init_site(
        site_dir, listen=f"127.0.0.1:{port}", database_url=database_url, extra=extra
    )
    return LiveSite(dir=site_dir, url=created.url, token=created.token)
