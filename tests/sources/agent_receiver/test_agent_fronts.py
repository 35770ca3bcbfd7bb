"""The receiver with TLS front processes (``agent_receiver.workers``): the same answers as the
in-process listener, fronts restarted when they die, none left behind at a stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from agentsite import (
    AgentSite,
    garbage_handshake,
    handshake_failures,
    problem,
    push,
    start_agent_site,
    wait_for,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=[False, True], ids=["site-checks", "fronts-check"])
def front_site(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[AgentSite]:
    s = start_agent_site(
        tmp_path_factory.mktemp("fronts"), workers=2, evaluate_in_fronts=request.param
    )
    try:
        yield s
    finally:
        s.site.stop()


def receiver_status(site: AgentSite) -> dict[str, Any]:
    with site.api() as api:
        status: dict[str, Any] = api.get("/api/v1/agents").json()["receiver"]
        return status


def test_pushes_through_fronts_reach_the_site(front_site: AgentSite, tmp_path: Path) -> None:
    status = receiver_status(front_site)
    assert status["listening"] is True
    assert [w["running"] for w in status["workers"]] == [True, True]
    sd = front_site.register("front01", tmp_path / "a")
    for _ in range(4):  # several connections: both fronts get some
        ans = push(sd)
        assert ans.status == 200, ans
    assert ans.body["accepted"] >= 10
    services = front_site.services("front01")
    assert "Lookout Agent" in services
    assert "Memory" in services


def test_rates_go_on_from_push_to_push_whichever_front_evaluates(
    front_site: AgentSite, tmp_path: Path
) -> None:
    """Counters seen in one push become a rate in the next, whichever process ran the checks
    (with ``evaluate_in_fronts`` the value store travels with each evaluation)."""
    from dataclasses import replace

    from agentsite import sections

    base = sections()
    assert base.cpu is not None

    def busier(n: int) -> Any:
        assert base.cpu is not None
        times = {k: v + 10.0 * n for k, v in base.cpu.times.items()}
        return replace(base, cpu=replace(base.cpu, times=times))

    sd = front_site.register("front04", tmp_path / "a")
    assert push(sd, sections=busier(0)).status == 200
    assert "since boot" in front_site.services("front04")["CPU utilization"]["summary"]
    for n in range(1, 4):  # new connections: the kernel spreads them over the fronts
        assert push(sd, sections=busier(n)).status == 200
        assert "since boot" not in front_site.services("front04")["CPU utilization"]["summary"]


def test_the_site_still_decides_refusals(front_site: AgentSite, tmp_path: Path) -> None:
    sd = front_site.register("front02", tmp_path / "a")
    assert push(sd).status == 200
    with front_site.api() as api:
        api.post("/api/v1/hosts/front02/agent-deregister").raise_for_status()
    ans = push(sd)
    assert ans.status == 403
    assert "revoked" in problem(ans)


def test_a_dead_front_is_started_again(front_site: AgentSite, tmp_path: Path) -> None:
    sd = front_site.register("front03", tmp_path / "a")
    before = receiver_status(front_site)["workers"]
    os.kill(before[0]["pid"], signal.SIGKILL)

    def restarted() -> bool:
        w = receiver_status(front_site)["workers"][0]
        return bool(w["running"] and w["pid"] != before[0]["pid"] and w["restarts"] == 1)

    wait_for(restarted, timeout=30, what="the front to be started again")
    for _ in range(4):
        assert push(sd).status == 200


def wait_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + 10
    while any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in pids):
        assert time.monotonic() < deadline, f"fronts {pids} still running"
        time.sleep(0.1)


def test_no_front_outlives_the_site(tmp_path: Path) -> None:
    s = start_agent_site(tmp_path / "site", workers=1)
    try:
        pids = [w["pid"] for w in receiver_status(s)["workers"]]
    finally:
        s.site.stop()
    wait_gone(pids)


def test_fronts_exit_when_the_site_is_killed_and_the_port_is_free_again(tmp_path: Path) -> None:
    s = start_agent_site(tmp_path / "site", workers=2)
    pids = [w["pid"] for w in receiver_status(s)["workers"]]
    s.site.kill()
    wait_gone(pids)
    s.site.start()  # binds the same receiver port again
    try:
        assert receiver_status(s)["listening"] is True
    finally:
        s.site.stop()


def test_agent_list_shows_the_fronts(front_site: AgentSite) -> None:
    site_dir = str(front_site.site.dir)
    out = subprocess.run(
        [sys.executable, "-m", "lookout.cli.main", "agent", "list", "--site", site_dir],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    assert "TLS fronts: 2 of 2 running" in out


def test_failed_handshakes_in_fronts_are_counted(front_site: AgentSite) -> None:
    before = handshake_failures(front_site)
    for _ in range(4):  # the kernel picks the front
        garbage_handshake(front_site)
    wait_for(
        lambda: handshake_failures(front_site) == before + 4,
        timeout=15,
        what="the fronts to report 4 more failed handshakes",
    )


def fronts_process(site: AgentSite) -> psutil.Process:
    assert site.site.proc is not None
    (proc,) = [
        p
        for p in psutil.Process(site.site.proc.pid).children()
        if "lookout.sources.agent_receiver.front" in " ".join(p.cmdline())
    ]
    return proc


def test_when_the_fronts_process_dies_its_fronts_go_and_new_ones_serve(tmp_path: Path) -> None:
    s = start_agent_site(tmp_path / "site", workers=2)
    try:
        sd = s.register("front05", tmp_path / "a")
        group = fronts_process(s)
        pids = [w["pid"] for w in receiver_status(s)["workers"]]
        assert {p.pid for p in group.children()} == set(pids)
        group.kill()
        wait_gone(pids)

        def restarted() -> bool:
            ws = receiver_status(s)["workers"]
            return all(w["running"] and w["pid"] not in pids for w in ws)

        wait_for(restarted, timeout=30, what="new fronts")
        for _ in range(4):
            assert push(sd).status == 200
    finally:
        s.site.stop()


async def test_a_front_that_cannot_start_says_why(tmp_path: Path) -> None:
    from lookout.sources.agent_receiver.fronts import FrontPool, FrontSpec
    from lookout.sources.agent_receiver.http import Request, Response

    async def handler(req: Request) -> Response:
        raise AssertionError("no request expected")

    not_a_dir = tmp_path / "site"
    not_a_dir.write_text("")  # the fronts cannot make the CA's directory in it
    pool = FrontPool(handler, FrontSpec(not_a_dir, "x", ["localhost"], 1024), workers=2)
    with pytest.raises(RuntimeError, match=r"receiver front [01] could not start: .*Error"):
        await pool.start("127.0.0.1", 0)
    assert pool.proc is not None
    assert pool.proc.returncode is not None  # the fronts' process is gone
