"""A site on worker pools and ``lookout worker`` processes, for integration tests and
benchmarks (with ``natsserver`` for the NATS servers)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from livesite import LiveSite, make_site

T = TypeVar("T")


def nats_site(site_dir: Path, nats_url: str, **extra: Any) -> LiveSite:
    """A site whose checks run on worker pools over ``nats_url`` (not started)."""
    nats = {"url": nats_url, "ack_wait": 2.0, "worker_timeout": 3.0, **extra.pop("nats", {})}
    execution = {"runner": "nats", **extra.pop("execution", {})}
    return make_site(site_dir, execution=execution, nats=nats, tick_interval=0.2, **extra)


@dataclass
class WorkerProcess:
    """One ``lookout worker`` subprocess."""

    proc: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(
        cls, nats_url: str, log: Path, pool: str = "default", site: str = "lookout", *args: str
    ) -> WorkerProcess:
        command = [sys.executable, "-m", "lookout.cli.main", "worker", "--pool", pool]
        command += ["--nats", nats_url, "--site-name", site, "--heartbeat", "0.5", *args]
        with log.open("ab") as out:
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        return cls(proc, log)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL, no goodbye: its unacknowledged jobs come again after the ack wait."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_for(probe: Callable[[], T], within: float = 20.0, every: float = 0.1) -> T:
    """``probe()`` once it is truthy; its last value after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)
