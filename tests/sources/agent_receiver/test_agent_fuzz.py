"""Fuzz the push path in process (real CA, real SQLite, the receiver's own handler): whatever
an agent sends, the receiver answers with a status, never crashes, and touches only the state
of the host behind the certificate."""

from __future__ import annotations

import asyncio
import copy
import json
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from agentsite import payload
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lookout_agent import tls
from lookout_agent import wire as w

from lookout.config import AgentReceiverSettings
from lookout.domain.objects import ServiceConfig
from lookout.domain.results import CheckResult
from lookout.sources.agent_receiver.ca import pem_to_der
from lookout.sources.agent_receiver.http import Request
from lookout.sources.agent_receiver.receiver import AgentReceiver
from lookout.storage.database import migrate, open_database

NOW = 1_800_000_000.0


class MemoryHooks:
    """The site's side, in memory: hosts a and b, their services, the submitted results."""

    def __init__(self) -> None:
        self.services: dict[str, dict[str, ServiceConfig]] = {"a": {}, "b": {}}
        self.results: list[CheckResult] = []

    def host_exists(self, host: str) -> bool:
        return host in self.services

    def services_of(self, host: str) -> dict[str, ServiceConfig]:
        return self.services.get(host, {})

    async def add_services(self, services: list[ServiceConfig]) -> None:
        for s in services:
            self.services[s.host][s.name] = s

    async def update_services(self, services: list[ServiceConfig]) -> None:
        for s in services:
            self.services[s.host][s.name] = s

    async def submit(self, results: list[CheckResult]) -> None:
        self.results.extend(results)


class Rig:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        directory = Path(tempfile.mkdtemp(prefix="lookout-fuzz-"))
        db = open_database(f"sqlite:///{directory / 'lookout.db'}")
        migrate(db)
        self.hooks = MemoryHooks()
        settings_ = AgentReceiverSettings(max_pushes_per_minute=10**9)
        self.rx = AgentReceiver(settings_, directory, "fuzz", db, self.hooks, lambda: NOW)
        self.certs = {h: self._register(h) for h in ("a", "b")}
        ok = self.push("b", json.dumps(asdict(payload(collected_at=NOW))).encode())
        assert ok == 200
        self.b_services = dict(self.hooks.services["b"])
        self.b_values = copy.deepcopy(self.rx.values["b"].data)

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def _register(self, host: str) -> bytes:
        token, _ = self.run(self.rx.create_token(host, "test"))
        csr = tls.csr_pem(tls.new_key(), tls.new_uuid())
        body = json.dumps({"token": token, "csr": csr}).encode()
        resp = self.run(self.rx.register(Request("POST", "/register", {}, body, None, "t")))
        assert resp.status == 200, resp.body
        return pem_to_der(json.loads(resp.body)["certificate"])

    def push(self, host: str, body: bytes) -> int:
        req = Request("POST", "/push", {}, body, self.certs[host], "fuzz")
        status: int = self.run(self.rx.handle(req)).status
        return status


RIG: list[Rig] = []


def rig() -> Rig:
    if not RIG:
        RIG.append(Rig())
    return RIG[0]


def check_isolation(status: int) -> None:
    r = rig()
    assert status in (200, 400, 422), status
    assert all(res.host in ("a", "b") for res in r.hooks.results)
    assert r.hooks.services["b"] == r.b_services
    assert r.rx.values["b"].data == r.b_values
    r.hooks.results = [x for x in r.hooks.results if x.host != "a"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=12), kids, max_size=4)
    ),
    max_leaves=30,
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=3000))
def test_random_bytes(body: bytes) -> None:
    check_isolation(rig().push("a", body))


@FUZZ
@given(json_values)
def test_random_json(value: Any) -> None:
    check_isolation(rig().push("a", json.dumps(value).encode()))


@FUZZ
@given(
    st.builds(
        w.Push,
        wire_version=st.just(w.WIRE_VERSION) | st.integers(),
        collected_at=st.just(NOW) | st.floats(allow_nan=False, allow_infinity=False),
        interval=st.floats(min_value=1, max_value=86400) | st.floats(allow_nan=False),
        sections=st.from_type(w.Sections),
    )
)
def test_structured_pushes(push: w.Push) -> None:
    try:
        body = w.to_json(push)
    except (ValueError, OverflowError):
        return
    before = len(rig().hooks.results)
    status = rig().push("a", body)
    if status == 200:
        assert len(rig().hooks.results) > before
        assert {r.host for r in rig().hooks.results[before:]} == {"a"}
    check_isolation(status)


@pytest.mark.parametrize("cut", [1, 10, 100, 1000])
def test_truncated_real_push(cut: int) -> None:
    body = json.dumps(asdict(payload(collected_at=NOW))).encode()
    check_isolation(rig().push("a", body[:-cut]))


def test_fuzzed_pushes_reach_the_plugins() -> None:
    """The structured strategy is not refused wholesale: a valid generated push is applied."""
    statuses = []

    @settings(max_examples=60, deadline=None)
    @given(st.from_type(w.Sections))
    def one(sections: w.Sections) -> None:
        try:
            body = w.to_json(payload(collected_at=NOW, sections=sections))
        except (ValueError, OverflowError):
            return
        statuses.append(rig().push("a", body))
        check_isolation(statuses[-1])

    one()
    assert statuses.count(200) > len(statuses) // 2, statuses
