"""Helpers: a real ``lookout serve`` with its agent receiver on free loopback ports, and
functions that drive the real agent code (``lookout_agent.client``) against it over TLS."""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lookout_agent import client, collect, tls
from lookout_agent import wire as w
from lookout_agent.state import StateDir

from livesite import LiveSite, free_port, make_site


@dataclass
class AgentSite:
    site: LiveSite
    receiver: str
    """https://127.0.0.1:PORT of the agent receiver."""

    def api(self) -> Any:
        return self.site.client()

    def add_host(self, name: str) -> dict[str, Any]:
        """Create the host and a registration token, as ``lookout host add NAME --agent``."""
        with self.api() as api:
            api.post("/api/v1/hosts", json={"name": name}).raise_for_status()
            r = api.post(f"/api/v1/hosts/{name}/agent-token")
            r.raise_for_status()
            answer: dict[str, Any] = r.json()
            return answer

    def register(self, name: str, state_dir: Path, *, add: bool = True) -> StateDir:
        token = self.add_host(name)["token"] if add else self.token(name)
        return self.register_with(token, state_dir)

    def token(self, name: str) -> str:
        with self.api() as api:
            r = api.post(f"/api/v1/hosts/{name}/agent-token")
            r.raise_for_status()
            token: str = r.json()["token"]
            return token

    def register_with(self, token: str, state_dir: Path) -> StateDir:
        sd = StateDir(state_dir)
        ca = client.fetch_ca(self.receiver)
        tls.check_pinned(ca, self.fingerprint())
        client.register(sd, self.receiver, token, ca)
        return sd

    def fingerprint(self) -> str:
        with self.api() as api:
            fp: str = api.get("/api/v1/agents").json()["receiver"]["ca_fingerprint"]
            return fp

    def services(self, host: str) -> dict[str, dict[str, Any]]:
        with self.api() as api:
            r = api.get(f"/api/v1/hosts/{host}/services")
            r.raise_for_status()
            return {s["name"]: s for s in r.json()["items"]}

    def host(self, host: str) -> dict[str, Any]:
        with self.api() as api:
            data: dict[str, Any] = api.get(f"/api/v1/hosts/{host}").json()
            return data


SECTIONS: list[w.Sections] = []


def sections() -> w.Sections:
    """This machine's sections (collected once per test run)."""
    if not SECTIONS:
        SECTIONS.append(collect.collect(None)[0])
    return SECTIONS[0]


def payload(**changes: Any) -> w.Push:
    base = w.Push(
        wire_version=w.WIRE_VERSION, agent_version="test", collected_at=time.time(),
        interval=60.0, sections=sections(), collect_ms=1.0,
    )  # fmt: skip
    return replace(base, **changes)


def post(
    sd: StateDir, server: str, path: str, body: bytes, ctx: ssl.SSLContext | None = None
) -> client.Answer:
    return client.request(server, ctx or client.mtls(sd), "POST", path, body)


def push(sd: StateDir, **changes: Any) -> client.Answer:
    return post(sd, sd.load().server, "/push", w.to_json(payload(**changes)))


def wait_for(cond: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def start_agent_site(directory: Path, **receiver: Any) -> AgentSite:
    port = free_port()
    settings = {"listen": f"127.0.0.1:{port}", **receiver}
    site = make_site(directory, tick_interval=0.2, agent_receiver=settings)
    site.start()
    return AgentSite(site, f"https://127.0.0.1:{port}")


def problem(ans: client.Answer) -> str:
    assert ans.headers.get("Content-Type") == "application/problem+json", ans
    detail: str = ans.body["detail"]
    return detail


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, default=str)


def garbage_handshake(site: AgentSite) -> None:
    """A client that sends something other than a TLS ClientHello."""
    url = urlsplit(site.receiver)
    with socket.create_connection((url.hostname, url.port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        while s.recv(65536):
            pass


def handshake_failures(site: AgentSite) -> int:
    with site.api() as api:
        n: int = api.get("/api/v1/agents").json()["receiver"]["handshake_failures"]
        return n
