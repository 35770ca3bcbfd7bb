"""A site on worker pools and ``lookout worker`` processes, for integration tests and
benchmarks (with ``natsserver`` for the NATS servers); and ``Hooks``, the site as a
``NatsRunner`` sees it, for tests that run the runner in their own event loop."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from livesite import LiveSite, kill, make_site, stop
from lookout.domain.results import CheckResult
from lookout.sources.active.runner import CheckJob

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
        kill(self.proc)

    def stop(self) -> None:
        """SIGTERM: running checks finish first."""
        stop(self.proc, grace=15)


def wait_for(probe: Callable[[], T], within: float = 20.0, every: float = 0.1) -> T:
    """``probe()`` once it is truthy; its last value after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


@dataclass
class Hooks:
    """The site as a NatsRunner sees it: pools by service, one interval, an engine that
    remembers when each object last took a result."""

    interval: float = 30.0
    pools: dict[str, str] = field(default_factory=dict)
    commands: dict[str, str] = field(default_factory=dict)
    last: dict[tuple[str, str], float] = field(default_factory=dict)
    applied: list[CheckResult] = field(default_factory=list)

    def pool_for(self, job: CheckJob) -> str:
        return self.pools.get(job.service, "default")

    def interval_for(self, host: str, service: str) -> float | None:
        return self.interval

    def last_result(self, host: str, service: str) -> float | None:
        return self.last.get((host, service), 0.0)

    def command_line(self, name: str) -> str | None:
        return self.commands.get(name)

    async def apply(self, result: CheckResult) -> None:
        self.last[(result.host, result.service)] = time.time()
        self.applied.append(result)
        await asyncio.sleep(0.01)  # the journal's commit
