"""The agent port of the front door: real ``lookout-agent`` processes register and push through
it to two sites by SNI name, TLS is never opened on the way (each agent checks its own site's
certificate and CA), an agent of A that names B fails the mutual TLS at B, and what is not a
ClientHello naming a running site is closed."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from frontdoor import door_root, sites, supervised
from lookout_agent import client, collect
from lookout_agent import wire as w
from lookout_agent.client import AgentError
from lookout_agent.state import StateDir
from sitehttp import api

from lookout.manager.root import Root

pytestmark = pytest.mark.integration
AGENT = (sys.executable, "-m", "lookout_agent.cli")


@pytest.fixture(scope="module")
def door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Root, dict[str, Any]]]:
    root = door_root(tmp_path_factory.mktemp("agentdoor") / "root", hello_timeout=0.5)
    with supervised(root):
        yield root, {name: sites(root, "create", name) for name in ("alpha", "beta")}


def agent(state: Path, *args: str) -> str:
    done = subprocess.run(
        [*AGENT, "--state-dir", str(state), *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def enrol(site: dict[str, Any], host: str, state: Path) -> None:
    """The two onboarding steps: a token on the site, the printed command on the host (with
    --connect, since no DNS names *.agents.localhost here)."""
    with api(site["url"], site["token"]) as c:
        c.post("/api/v1/hosts", json={"name": host}).raise_for_status()
        reg = c.post(f"/api/v1/hosts/{host}/agent-token").json()
    assert reg["server_url"] == site["agent_url"]
    assert reg["command"].startswith(f"lookout-agent register --server {site['agent_url']} ")
    args = reg["command"].split()[1:]  # register --server … --token … --ca-fingerprint …
    out = agent(state, *args, "--connect", "127.0.0.1")
    assert f"of site {site['name']}" in out


def test_agents_of_two_sites_register_and_push_through_one_port(
    door: tuple[Root, dict[str, Any]], tmp_path: Path
) -> None:
    root, made = door
    port = root.settings.door.agent_listen.rpartition(":")[2]
    for name, host in (("alpha", "app01"), ("beta", "db01")):
        site = made[name]
        assert site["agent_url"] == f"https://{name}.agents.localhost:{port}"
        enrol(site, host, tmp_path / name)
        assert "pushed:" in agent(tmp_path / name, "run", "--once")
        assert "connection:     ok" in agent(tmp_path / name, "status")
        with api(site["url"], site["token"]) as c:
            services = c.get(f"/api/v1/hosts/{host}/services").json()["items"]
            assert "Lookout Agent" in {s["name"] for s in services}


def test_an_agent_of_a_naming_site_b_fails_the_mutual_tls(
    door: tuple[Root, dict[str, Any]], tmp_path: Path
) -> None:
    _, made = door
    a, b = made["alpha"], made["beta"]
    state = tmp_path / "a"
    enrol(a, "app02", state)
    sd = StateDir(state)
    body = w.to_json(
        w.Push(
            wire_version=w.WIRE_VERSION, agent_version="test", collected_at=time.time(),
            interval=60.0, sections=collect.collect(None)[0],
        )
    )  # fmt: skip
    client.connect_via(b["agent_url"], "127.0.0.1")
    with pytest.raises(AgentError) as exc:  # B's certificate is not of A's CA, nor A's of B's
        client.request(b["agent_url"], client.mtls(sd), "POST", "/push", body)
    assert exc.value.tls_refused
    with api(b["url"], b["token"]) as c:
        assert "app02" not in {h["name"] for h in c.get("/api/v1/hosts").json()["items"]}


@pytest.mark.parametrize(
    "server", ["https://nosuch.agents.localhost", "https://alpha.example.org", "https://127.0.0.1"]
)
def test_unknown_or_missing_server_names_are_closed(
    door: tuple[Root, dict[str, Any]], server: str
) -> None:
    root, _ = door
    url = f"{server}:{root.settings.door.agent_listen.rpartition(':')[2]}"
    client.connect_via(url, "127.0.0.1")
    with pytest.raises(AgentError, match=r"closed the connection|EOF|reset"):
        client.fetch_ca(url, timeout=10)


def test_what_is_not_a_client_hello_in_time_is_closed(door: tuple[Root, dict[str, Any]]) -> None:
    root, _ = door
    host, _, port = root.settings.door.agent_listen.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: alpha.agents.localhost\r\n\r\n")
        assert s.recv(100) == b""  # closed, nothing said
    with socket.create_connection((host, int(port)), timeout=10) as s:
        began = time.monotonic()
        assert s.recv(100) == b""  # silent client: closed after hello_timeout (0.5 s)
        assert time.monotonic() - began < 5
