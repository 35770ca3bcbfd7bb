"""A real Prometheus (Debian's package) on a free port, scraping given targets, for tests."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from livesite import free_port, wait_ready

BINARY = shutil.which("prometheus")


@dataclass
class Prometheus:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The result of an instant query (a vector's samples)."""
        r = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        r.raise_for_status()
        result: list[dict[str, Any]] = r.json()["data"]["result"]
        return result

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start(
    work: Path, targets: list[str], timeout: float = 60.0, token: str | None = None
) -> Prometheus:
    """Prometheus scraping ``targets`` (``host:port``, path /metrics) every second, with
    ``token`` as its bearer credentials when given."""
    if BINARY is None:
        pytest.skip("prometheus is not installed (scripts/test-deps.d/kube.sh installs it)")
    work.mkdir(parents=True, exist_ok=True)
    config = work / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: lookout\n"
        + (f"    authorization:\n      credentials: {token}\n" if token else "")
        + "    static_configs:\n"
        f"      - targets: [{', '.join(repr(t) for t in targets)}]\n"
        if targets
        else "global:\n  scrape_interval: 1s\n"
    )
    port = free_port()
    log = work / "prometheus.log"
    proc = subprocess.Popen(
        [
            BINARY,
            f"--config.file={config}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    prom = Prometheus(f"http://127.0.0.1:{port}", proc, log)
    if wait_ready(proc, f"{prom.url}/-/ready", log, "prometheus", timeout, 0.1):
        return prom
    prom.stop()
    raise RuntimeError(f"prometheus not ready after {timeout} s: {log.read_text()[-3000:]}")
