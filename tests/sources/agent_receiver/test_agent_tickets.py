"""TLS session resumption with several fronts: the fronts share their ticket keys, so a session
that one front gave out resumes at any other (the kernel hands a connection to either), also at
a front started after another died."""

from __future__ import annotations

import os
import signal
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from agentsite import AgentSite, start_agent_site, wait_for
from lookout_agent import client
from lookout_agent.state import StateDir

pytestmark = pytest.mark.integration

CONNECTIONS = 40


@pytest.fixture(scope="module")
def two_fronts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentSite]:
    s = start_agent_site(tmp_path_factory.mktemp("tickets"), workers=2)
    try:
        yield s
    finally:
        s.site.stop()


def fronts(site: AgentSite) -> list[dict[str, Any]]:
    with site.api() as api:
        workers: list[dict[str, Any]] = api.get("/api/v1/agents").json()["receiver"]["workers"]
        return workers


class Agent:
    """New connections with the agent's own TLS context (TLS 1.3, client certificate), each
    offering the session of the previous one, as ``lookout_agent.client`` does."""

    def __init__(self, site: AgentSite, sd: StateDir) -> None:
        url = urlsplit(site.receiver)
        self.addr = (url.hostname or "127.0.0.1", url.port or 443)
        self.ctx = client.mtls(sd)
        self.session: ssl.SSLSession | None = None

    def connect(self) -> bool:
        """One ``GET /ca`` on a new connection; whether it resumed the previous session."""
        raw = socket.create_connection(self.addr, timeout=10)
        with self.ctx.wrap_socket(raw, server_hostname="127.0.0.1", session=self.session) as s:
            s.sendall(b"GET /ca HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
            assert data.startswith(b"HTTP/1.1 200"), data[:200]
            assert s.version() == "TLSv1.3"
            reused = s.session_reused
            self.session = s.session
        return reused

    def resumed(self, n: int) -> int:
        self.connect()  # a full handshake: the first session
        return sum(self.connect() for _ in range(n))


def test_every_connection_resumes_whichever_front_takes_it(
    two_fronts: AgentSite, tmp_path: Path
) -> None:
    agent = Agent(two_fronts, two_fronts.register("tickets01", tmp_path / "a"))
    assert agent.resumed(CONNECTIONS) == CONNECTIONS


def test_fronts_started_after_both_died_resume_the_old_sessions(
    two_fronts: AgentSite, tmp_path: Path
) -> None:
    """A session from before both fronts were killed resumes at their replacements: the keys
    outlive the processes (whichever front the kernel picks, it is a new one)."""
    agent = Agent(two_fronts, two_fronts.register("tickets02", tmp_path / "a"))
    agent.connect()
    before = {w["pid"] for w in fronts(two_fronts)}
    for pid in before:
        os.kill(pid, signal.SIGKILL)

    def replaced() -> bool:
        now = fronts(two_fronts)
        return all(w["running"] for w in now) and not before & {w["pid"] for w in now}

    wait_for(replaced, timeout=30, what="both fronts to be started again")
    assert agent.connect(), "the session from before the restarts was not resumed"
    assert sum(agent.connect() for _ in range(CONNECTIONS)) == CONNECTIONS
