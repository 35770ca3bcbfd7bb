"""A real site for the CLI tests: ``lookout serve`` in a subprocess, once per test session."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from lookout.cli.main import app
from lookout.sites.site import init_site

STARTUP_TIMEOUT = 90.0
"""Seconds the server may take to become ready (~30 s on a loaded 2-core machine)."""


@dataclass(frozen=True)
class RunningSite:
    dir: Path
    url: str
    token: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"lookout serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail(f"lookout serve not ready after {STARTUP_TIMEOUT} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSite]:
    base = tmp_path_factory.mktemp("cli-site")
    site_dir = base / "site"
    init_site(
        site_dir,
        listen=f"127.0.0.1:{_free_port()}",
        extra={"agent_receiver": {"listen": f"127.0.0.1:{_free_port()}"}},
    )
    creds = json.loads((site_dir / "cli.json").read_text())
    log = base / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lookout.cli.main",
                "serve",
                str(site_dir),
                "--log-level",
                "warning",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(proc, creds["url"], log)
        yield RunningSite(dir=site_dir, url=creds["url"], token=creds["token"])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Cli:
    """Runs ``lookout …`` in-process against the test site (``--site`` added unless told)."""

    def __init__(self, site: RunningSite) -> None:
        self.site = site
        self.runner = CliRunner(
            env={"LOOKOUT_URL": None, "LOOKOUT_TOKEN": None, "COLUMNS": "200", "NO_COLOR": "1"}
        )

    def __call__(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str | None] | None = None,
        connect: bool = True,
    ) -> Result:
        extra = ["--site", str(self.site.dir)] if connect else []
        return self.runner.invoke(app, [*args, *extra], input=input, env=env)

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self(*args, input=input)
        assert result.exit_code == 0, f"lookout {' '.join(args)}: {result.output}"
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json").stdout)


@pytest.fixture
def cli(site: RunningSite) -> Cli:
    return Cli(site)
