"""Every refusal of the receiver, over real TLS with real certificates: a status and a
problem+json that says what is wrong (or, for a foreign CA, the TLS alert the agent explains)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from agentsite import AgentSite, payload, post, problem, push, start_agent_site, wait_for
from lookout_agent import client, tls
from lookout_agent import wire as w
from lookout_agent.client import AgentError
from lookout_agent.state import StateDir

from lookout.sources.agent_receiver.ca import SiteCA

pytestmark = pytest.mark.integration


def test_push_without_certificate(agent_site: AgentSite, tmp_path: Path) -> None:
    sd = agent_site.register("nocert", tmp_path)
    ctx = tls.client_context(sd.ca.read_text())  # verifies the server, presents nothing
    ans = post(sd, agent_site.receiver, "/push", w.to_json(payload()), ctx)
    assert ans.status == 401
    assert "no client certificate" in problem(ans)


def test_certificate_of_another_site(agent_site: AgentSite, tmp_path: Path) -> None:
    sd = agent_site.register("foreign", tmp_path / "mine")
    other = SiteCA.ensure(tmp_path / "other", "other")
    key = tls.new_key()
    issued = other.sign_agent(tls.csr_pem(key, tls.new_uuid()), 30)
    sd.store_identity(tls.key_pem(key), issued.pem, sd.ca.read_text())  # a foreign identity
    # TLS drops the handshake; the agent asks /diagnose why and says so
    with pytest.raises(AgentError, match=r"not by this site's CA .* another site"):
        client.push(sd, sd.load(), payload())


def test_revoked_after_agent_deregisters(agent_site: AgentSite, tmp_path: Path) -> None:
    sd = agent_site.register("leaver", tmp_path / "agent")
    assert push(sd).status == 200
    copy = StateDir(tmp_path / "copy")
    shutil.copytree(sd.path, copy.path)
    from lookout_agent import cli

    assert cli.main(["--state-dir", str(sd.path), "deregister"]) == 0
    assert not sd.registered()
    ans = push(copy)
    assert ans.status == 403
    assert "revoked" in problem(ans)
    assert "deregistered itself" in problem(ans)


def test_host_deregistered_on_the_site(agent_site: AgentSite, tmp_path: Path) -> None:
    sd = agent_site.register("web03", tmp_path)
    assert push(sd).status == 200
    out = subprocess.run(
        [sys.executable, "-m", "lookout.cli.main", "host", "deregister", "web03",
         "--site", str(agent_site.site.dir)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    assert "1 agent certificate(s) revoked" in out
    ans = push(sd)  # at once: no cache to expire
    assert ans.status == 403
    assert "host web03 deregistered by admin" in problem(ans)
    assert agent_site.services("web03")["Lookout Agent"]["state"] in ("CRIT", 2)


def test_removed_host(agent_site: AgentSite, tmp_path: Path) -> None:
    sd = agent_site.register("gone", tmp_path)
    with agent_site.api() as api:
        api.delete("/api/v1/hosts/gone").raise_for_status()
    ans = push(sd)
    assert ans.status == 403
    assert "host gone was removed" in problem(ans)
    with agent_site.api() as api:  # a new host of that name does not inherit the agent
        api.post("/api/v1/hosts", json={"name": "gone"}).raise_for_status()
    assert push(sd).status == 403


def test_payload_too_large(agent_site: AgentSite, tmp_path: Path) -> None:
    sd = agent_site.register("big", tmp_path)
    lines = ["0 svc - " + "x" * 1000] * 400
    big = payload(sections=w.Sections(local=w.LocalSection(lines)))
    ans = post(sd, agent_site.receiver, "/push", w.to_json(big))
    assert ans.status == 413
    assert "over the limit of 300000 bytes" in problem(ans)


@pytest.mark.parametrize(("offset", "word"), [(3600.0, "ahead of"), (-3600.0, "behind")])
def test_clock_skew_is_reported_as_a_service_state(
    agent_site: AgentSite, tmp_path: Path, offset: float, word: str
) -> None:
    host = f"skew{int(offset > 0)}"
    sd = agent_site.register(host, tmp_path)
    ans = push(sd, collected_at=time.time() + offset)
    assert ans.status == 422
    assert f"s {word} the site's" in problem(ans)
    svc = agent_site.services(host)["Lookout Agent"]
    assert svc["state"] in ("CRIT", 2)
    assert "clock skew" in svc["summary"]


def test_rate_limit(agent_site: AgentSite, tmp_path: Path) -> None:
    sd = agent_site.register("chatty", tmp_path)
    answers = [push(sd) for _ in range(6)]
    assert [a.status for a in answers[:5]] == [200] * 5
    assert answers[5].status == 429
    assert 1 <= int(answers[5].headers["Retry-After"]) <= 60
    assert "pushes per minute" in problem(answers[5])


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b'{"wire_version": 1}', 422, "missing required field"),
        (
            b'{"wire_version":1,"agent_version":"x","collected_at":0,"interval":60,'
            b'"sections":{"cpu":{"cores":"two","load":[0,0,0],"times":{}}}}',
            422,
            "$.sections.cpu.cores",
        ),
    ],
)
def test_invalid_pushes_name_the_problem(
    agent_site: AgentSite, tmp_path: Path, body: bytes, status: int, text: str
) -> None:
    sd = agent_site.register(f"bad{status}{len(body)}", tmp_path)
    ans = post(sd, agent_site.receiver, "/push", body)
    assert ans.status == status
    assert text in problem(ans)


def test_wire_version_mismatch(agent_site: AgentSite, tmp_path: Path) -> None:
    sd = agent_site.register("future", tmp_path)
    ans = push(sd, wire_version=99)
    assert ans.status == 422
    assert "wire_version 99 not supported" in problem(ans)


def test_unknown_endpoint(agent_site: AgentSite, tmp_path: Path) -> None:
    sd = agent_site.register("explorer", tmp_path)
    ans = client.request(agent_site.receiver, client.mtls(sd), "GET", "/admin")
    assert ans.status == 404


def test_expiry_and_renewal(tmp_path: Path) -> None:
    """Certificates of 4 s and tokens of 2 s: renewal after two thirds of the life over mTLS,
    refusal after expiry, and an expired registration token."""
    site = start_agent_site(tmp_path / "site", cert_lifetime_days=4 / 86400, token_lifetime=2.0)
    try:
        late = site.add_host("late")["token"]
        sd = site.register("shortlived", tmp_path / "a")
        first = sd.load().not_after
        wait_for(lambda: client.needs_renewal(sd, time.time()), what="renewal time")
        old_cert = sd.cert.read_bytes()
        st = client.renew(sd, sd.load())
        assert st.not_after > first
        assert sd.cert.read_bytes() != old_cert
        assert push(sd).status == 200  # with the renewed certificate

        stale = site.register("expiring", tmp_path / "b")
        wait_for(lambda: time.time() > stale.load().not_after + 0.2, what="expiry")
        ans = push(stale)
        assert ans.status == 401
        assert "certificate expired" in problem(ans)

        with pytest.raises(AgentError, match="expired"):  # created more than 2 s ago
            site.register_with(late, tmp_path / "c")
    finally:
        site.site.stop()


def test_bad_csr_keeps_the_token(agent_site: AgentSite, tmp_path: Path) -> None:
    token = agent_site.add_host("csrtypo")["token"]
    ctx = tls.client_context(client.fetch_ca(agent_site.receiver))
    body = json.dumps({"token": token, "csr": "not a CSR"}).encode()
    ans = client.request(agent_site.receiver, ctx, "POST", "/register", body)
    assert ans.status == 422
    assert "csr: not a PEM certificate signing request" in problem(ans)
    agent_site.register_with(token, tmp_path)  # the token was not used up


def test_registering_again_retires_the_old_identity(agent_site: AgentSite, tmp_path: Path) -> None:
    old = agent_site.register("reinstalled", tmp_path / "old")
    assert push(old).status == 200
    new = agent_site.register("reinstalled", tmp_path / "new", add=False)
    assert push(new).status == 200
    ans = push(old)
    assert ans.status == 403
    assert "replaced by agent" in problem(ans)
