"""A real Alertmanager (Debian's prometheus-alertmanager) on free ports, for tests."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from livesite import LiveSite, free_port, wait_ready

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def require_binary() -> str:
    if BINARY is None:
        pytest.skip(
            "prometheus-alertmanager is not installed (scripts/test-deps.d/alertmanager.sh "
            "installs it)"
        )
    return BINARY


@dataclass
class Alertmanager:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    def push(self, *alerts: dict[str, Any]) -> None:
        """POST alerts to /api/v2/alerts, as Prometheus does."""
        with self.client() as c:
            c.post("/api/v2/alerts", json=list(alerts)).raise_for_status()

    def silences(self) -> list[dict[str, Any]]:
        with self.client() as c:
            answer: list[dict[str, Any]] = c.get("/api/v2/silences").json()
            return answer

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Pair:
    """A site and the Alertmanager that sends its webhook to it."""

    site: LiveSite
    am: Alertmanager


def config(webhook_url: str, token: str) -> str:
    """A route that sends every alert at once to ``webhook_url`` with ``token`` (none: a
    receiver that sends nothing)."""
    if not webhook_url:
        return "route:\n  receiver: nowhere\nreceivers:\n  - name: nowhere\n"
    return f"""
route:
  receiver: lookout
  group_by: ['alertname', 'instance']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: lookout
    webhook_configs:
      - url: {webhook_url}
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {token}
"""


def start(
    work: Path, webhook_url: str, token: str, *, port: int = 0, timeout: float = 30.0
) -> Alertmanager:
    binary = require_binary()
    work.mkdir(parents=True, exist_ok=True)
    cfg = work / "alertmanager.yml"
    cfg.write_text(config(webhook_url, token))
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    log = work / "alertmanager.log"
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={cfg}",
            f"--storage.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--web.external-url={url}",
            "--cluster.listen-address=",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    am = Alertmanager(url, proc, log)
    if wait_ready(proc, f"{url}/-/ready", log, "alertmanager", timeout, 0.05):
        return am
    am.stop()
    raise RuntimeError(f"alertmanager not ready after {timeout} s: {log.read_text()[-3000:]}")


def wait_for(what: str, probe: Any, timeout: float = 20.0) -> Any:
    """Poll ``probe()`` until it returns something true; its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
