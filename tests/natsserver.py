"""Real nats-server processes with JetStream on free ports, for tests and benchmarks: one
server, a cluster of three, or one from a configuration file (accounts)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from livesite import free_port, kill, stop

BINARY = shutil.which("nats-server")


def require_binary() -> str:
    """The nats-server program; a test without one is skipped (it fails in CI)."""
    import pytest

    if BINARY is None:
        message = "nats-server is not installed (scripts/test-deps.d/nats.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return BINARY


@dataclass
class NatsServer:
    """One nats-server process (``start`` again after ``kill`` keeps its port and store)."""

    name: str
    port: int
    store: Path
    log: Path
    args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, wait: bool = True) -> None:
        binary = BINARY or "nats-server"
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    binary,
                    "-a",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-sd",
                    str(self.store),
                    *self.args,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if wait:
            self.wait_listening()

    def wait_listening(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited: {self.log.read_text()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nats-server not listening: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        kill(self.proc)

    def stop(self) -> None:
        stop(self.proc)


def single(work: Path, config: str | None = None, extra: tuple[str, ...] = ()) -> NatsServer:
    """One server with JetStream (``config``: the text of a configuration file too;
    ``extra``: more command-line options)."""
    work.mkdir(parents=True, exist_ok=True)
    args = ["-js", *extra]
    if config is not None:
        conf = work / "nats.conf"
        conf.write_text(config)
        args += ["-c", str(conf)]
    server = NatsServer("n1", free_port(), work / "store", work / "nats.log", args)
    server.start()
    return server


def cluster(work: Path, size: int = 3) -> list[NatsServer]:
    """``size`` servers in one JetStream cluster (ready once a meta leader is elected)."""
    work.mkdir(parents=True, exist_ok=True)
    ports = [free_port() for _ in range(size)]
    routes = ",".join(f"nats-route://127.0.0.1:{p}" for p in ports)
    servers = []
    for i, route_port in enumerate(ports):
        name = f"n{i + 1}"
        args = [
            "-js",
            "-n",
            name,
            "--cluster_name",
            "lookout",
            "--cluster",
            f"nats://127.0.0.1:{route_port}",
            "--routes",
            routes,
        ]
        servers.append(NatsServer(name, free_port(), work / name, work / f"{name}.log", args))
    for server in servers:
        server.start(wait=False)
    for server in servers:
        server.wait_listening()
    return servers


def urls(servers: list[NatsServer]) -> str:
    return ",".join(s.url for s in servers)
