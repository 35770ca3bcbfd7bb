"""The user's path, end to end over real TLS: ``lookout host add --agent`` → ``lookout-agent
register`` → ``lookout-agent run --once`` → the host's services appear; then status,
restart, staleness."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from agentsite import AgentSite, push, start_agent_site, wait_for
from lookout_agent import cli

pytestmark = pytest.mark.integration


def lookout(site: AgentSite, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "lookout.cli.main", *args, "--site", str(site.site.dir)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return proc.stdout


def test_onboarding_story(
    agent_site: AgentSite, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = json.loads(lookout(agent_site, "host", "add", "web01", "--agent", "--json"))
    command = answer["agent"]["command"]
    assert command.startswith("lookout-agent register --server ")
    assert answer["agent"]["ca_fingerprint"].startswith("SHA256:")
    argv = shlex.split(command)[1:]
    state = str(tmp_path / "agent")
    assert cli.main(["--state-dir", state, *argv]) == 0
    assert "registered as host web01" in capsys.readouterr().out

    assert cli.main(["--state-dir", state, "run", "--once"]) == 0
    assert "pushed:" in capsys.readouterr().out
    services = agent_site.services("web01")
    for name in ("Lookout Agent", "CPU utilization", "CPU load", "Memory", "Filesystem /",
                 "Uptime", "OS", "Processes"):  # fmt: skip
        assert name in services, sorted(services)
        # judged from this machine's real figures: a busy CI machine may be WARN or CRIT
        assert services[name]["state"] in ("OK", "WARN", "CRIT", 0, 1, 2), services[name]
    assert services["Lookout Agent"]["state"] in ("OK", 0), services["Lookout Agent"]
    assert agent_site.host("web01")["state"] in ("UP", 0)
    assert "agent test" not in services["Lookout Agent"]["summary"]
    assert "certificate valid until" in services["Lookout Agent"]["summary"]

    assert cli.main(["--state-dir", state, "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["host"] == "web01"
    assert status["last_error"] is None
    assert status["ca_fingerprint"] == answer["agent"]["ca_fingerprint"]

    text = lookout(agent_site, "agent", "list")
    assert "Receiver https://" in text
    assert "web01" in text
    listed = json.loads(lookout(agent_site, "agent", "list", "--json"))
    web01 = next(a for a in listed["items"] if a["host"] == "web01")
    assert web01["version"] == "0.1.0"
    assert web01["stale"] is False


def test_token_is_single_use(agent_site: AgentSite, tmp_path: Path) -> None:
    from lookout_agent.client import AgentError

    token = agent_site.add_host("single")["token"]
    agent_site.register_with(token, tmp_path / "a")
    with pytest.raises(AgentError, match="already used"):
        agent_site.register_with(token, tmp_path / "b")
    with pytest.raises(AgentError, match="unknown registration token"):
        agent_site.register_with("lka_nonsense", tmp_path / "c")


def test_wrong_fingerprint_is_never_trusted(agent_site: AgentSite, tmp_path: Path) -> None:
    token = agent_site.add_host("pinned")["token"]
    code = cli.main(
        ["--state-dir", str(tmp_path), "register", "--server", agent_site.receiver,
         "--token", token, "--ca-fingerprint", "SHA256:" + "ab" * 32]
    )  # fmt: skip
    assert code == 1
    assert not (tmp_path / "agent.key").exists()


def test_register_with_ca_file(agent_site: AgentSite, tmp_path: Path) -> None:
    token = agent_site.add_host("cafile")["token"]
    ca = agent_site.site.dir / "ca" / "ca.pem"
    code = cli.main(
        ["--state-dir", str(tmp_path), "register", "--server", agent_site.receiver,
         "--token", token, "--ca-file", str(ca)]
    )  # fmt: skip
    assert code == 0


def test_silent_agent_goes_crit_and_host_down(agent_site: AgentSite, tmp_path: Path) -> None:
    sd = agent_site.register("quiet", tmp_path)
    assert push(sd, interval=1.0).status == 200
    assert agent_site.host("quiet")["state"] in ("UP", 0)

    def down() -> bool:
        svc = agent_site.services("quiet")["Lookout Agent"]
        return svc["state"] in ("CRIT", 2) and agent_site.host("quiet")["state"] in ("DOWN", 1)

    wait_for(down, what="Lookout Agent CRIT and host DOWN")
    assert "no data from the agent" in agent_site.services("quiet")["Lookout Agent"]["summary"]
    assert push(sd, interval=1.0).status == 200  # back
    assert agent_site.services("quiet")["Lookout Agent"]["state"] in ("OK", 0)
    assert agent_site.host("quiet")["state"] in ("UP", 0)


def test_restart_keeps_identities_and_counters(tmp_path: Path) -> None:
    site = start_agent_site(tmp_path / "site")
    try:
        sd = site.register("web02", tmp_path / "agent")
        assert push(sd).status == 200
        site.site.stop()
        site.site.start()
        assert push(sd).status == 200  # certificate still known after the restart
        nic = next(n for n in site.services("web02") if n.startswith("Interface "))
        summary = site.services("web02")[nic]["summary"]
        assert "Mbit/s" in summary
        assert "since boot" not in summary
    finally:
        site.site.stop()


def test_pushes_resume_the_tls_session(agent_site: AgentSite, tmp_path: Path) -> None:
    """The agent resumes its TLS session on the next push; the receiver still knows who it is."""
    from urllib.parse import urlsplit

    from agentsite import payload
    from lookout_agent import client
    from lookout_agent import wire as w

    sd = agent_site.register("resumer", tmp_path)
    assert client.push(sd, sd.load(), payload()).accepted  # full handshake, session kept
    port = urlsplit(agent_site.receiver).port
    conn = client._Connection("127.0.0.1", port, context=client.mtls(sd), timeout=10)
    conn.resume = True
    try:
        conn.request("POST", "/push", body=w.to_json(payload()))
        status = conn.getresponse().status
        assert conn.sock.session_reused
    finally:
        conn.close()
    assert status == 200


def test_service_params_change_the_thresholds(agent_site: AgentSite, tmp_path: Path) -> None:
    sd = agent_site.register("tuned", tmp_path)
    assert push(sd).status == 200
    with agent_site.api() as api:
        r = api.patch(
            "/api/v1/hosts/tuned/services/CPU load",
            json={"params": {"levels_per_core": [0.0, 0.0]}},
        )
        r.raise_for_status()
        r = api.patch("/api/v1/hosts/tuned/services/Memory", json={"params": {"levels": "high"}})
        r.raise_for_status()
    assert push(sd).status == 200
    services = agent_site.services("tuned")
    assert services["CPU load"]["state"] in ("CRIT", 2), services["CPU load"]
    assert services["Memory"]["state"] in ("UNKNOWN", 3)
    assert "invalid parameters for memory" in services["Memory"]["summary"]


def test_services_follow_the_agents_interval(agent_site: AgentSite, tmp_path: Path) -> None:
    sd = agent_site.register("pace", tmp_path)
    assert push(sd, interval=60.0).status == 200
    assert push(sd, interval=20.0).status == 200
    services = agent_site.services("pace")
    assert {s["check_interval"] for s in services.values()} == {20.0}, services
