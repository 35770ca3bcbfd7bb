"""A standby site on PostgreSQL: two ``lookout serve`` processes on the same settings and
database; one runs the site, the other waits (``/healthz`` 200, ``/readyz`` 503, doors 503)
and takes over within 10 s of a SIGKILL with every acknowledged result and comment, or at
once when the active one stops."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from durableload import load, setup, verify
from livesite import LiveSite, make_site, wait_ready
from lookout.storage.sitelock import lock_key

pytestmark = pytest.mark.integration

TAKEOVER = 10.0
"""Seconds from the active process's SIGKILL until the standby is ready (the issue's target)."""


def _site_active(site: LiveSite) -> float:
    text = httpx.get(f"{site.url}/metrics", timeout=5).text
    line = next(ln for ln in text.splitlines() if ln.startswith("lookout_site_active "))
    return float(line.split()[1])


def _role(site: LiveSite) -> str:
    with site.client() as c:
        answer = c.get("/api/v1/site")
    assert answer.status_code == 200, answer.text
    role: str = answer.json()["role"]
    return role


def _ready_within(site: LiveSite, seconds: float) -> float:
    """Seconds until ``site`` answers ``/readyz`` 200 (fails after ``seconds``)."""
    began = time.monotonic()
    assert site.proc is not None
    assert site.log is not None
    assert wait_ready(site.proc, f"{site.url}/readyz", site.log, "standby", seconds, 0.05), (
        f"the standby did not take over within {seconds} s: {site.log.read_text()[-3000:]}"
    )
    return time.monotonic() - began


def _pair(tmp_path: Path, pg_url: str) -> tuple[LiveSite, LiveSite]:
    # A long checkpoint interval so that most acknowledged input lives only in the journal.
    active = make_site(tmp_path / "site", pg_url, checkpoint_interval=0.7)
    active.start()
    standby = active.second()
    standby.start(probe="/healthz")
    return active, standby


def _status(site: LiveSite) -> str:
    """What ``lookout status`` says about ``site``'s process."""
    command = [sys.executable, "-m", "lookout.cli.main", "status"]
    command += ["--url", site.url, "--token", site.token]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def test_the_standby_waits_with_its_doors_shut(tmp_path: Path, pg_url: str) -> None:
    active, standby = _pair(tmp_path, pg_url)
    try:
        assert httpx.get(f"{standby.url}/readyz", timeout=5).status_code == 503
        with standby.client() as c:
            refused = c.get("/api/v1/hosts")
            assert refused.status_code == 503
            assert "standby" in refused.json()["detail"]
            assert refused.headers["retry-after"] == "5"
            assert c.post("/api/v1/results", json={"results": []}).status_code == 503
            info = c.get("/api/v1/site").json()
        assert info["role"] == "standby"
        assert info["database"] == "postgresql"
        assert info["lock_holder"]["name"].startswith("lookout lookout ")
        assert _role(active) == "active"
        assert _site_active(active) == 1
        assert _site_active(standby) == 0
        said = _status(standby)
        assert "standby" in said
        assert "site lock: held by lookout lookout" in said
    finally:
        active.stop()
        standby.stop()


def test_sigkill_of_the_active_one_loses_nothing_acknowledged(tmp_path: Path, pg_url: str) -> None:
    active, standby = _pair(tmp_path, pg_url)
    try:
        setup(active)
        acked = asyncio.run(load(active, seconds=2.0))
        assert active.proc is not None
        assert active.proc.returncode == -9
        assert sum(acked.results.values()) > 100, "too few answers to mean much"
        assert acked.comments, "no comment was answered"
        _ready_within(standby, TAKEOVER)
        took = time.monotonic() - acked.killed_at
        print(f"takeover after SIGKILL: {took:.2f} s")
        assert took <= TAKEOVER
        assert _role(standby) == "active"
        assert _site_active(standby) == 1
        verify(standby, acked)
    finally:
        active.stop()
        standby.stop()


def test_a_stopped_active_one_hands_over_at_once(tmp_path: Path, pg_url: str) -> None:
    active, standby = _pair(tmp_path, pg_url)
    try:
        setup(active)
        with active.client() as c:
            c.post("/api/v1/results", json={"host": "h1", "service": "s1", "state": 2})
            ack = {"host": "h1", "service": "s1", "comment": "on it"}
            assert c.post("/api/v1/actions/acknowledge", json=ack).status_code == 200
        active.stop()
        assert active.proc is not None
        assert active.proc.returncode in (0, -15)
        _ready_within(standby, TAKEOVER)
        with standby.client() as c:
            svc = c.get("/api/v1/hosts/h1/services/s1").json()
        assert svc["state"] == 2
        assert svc["acknowledged"]
        # the old one, started again, is the standby now
        active.start(probe="/healthz")
        assert _role(active) == "standby"
    finally:
        active.stop()
        standby.stop()


def test_an_active_one_that_loses_the_lock_stops_and_the_standby_takes_over(
    tmp_path: Path, pg_url: str
) -> None:
    """Fencing: the database ends the active process's lock session (as it does when that
    process is cut off); the process stops at once (exit code 3) and the standby runs."""
    active, standby = _pair(tmp_path, pg_url)
    try:
        setup(active)
        key = lock_key("lookout")
        db = sa.create_engine(pg_url, poolclass=sa.NullPool)
        with db.connect() as conn:
            ended = conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                f" AND granted AND classid = {(key >> 32) & 0xFFFFFFFF}"
                f" AND objid = {key & 0xFFFFFFFF}"
            ).scalar()
        db.dispose()
        assert ended
        assert active.proc is not None
        assert active.proc.wait(TAKEOVER) == 3
        _ready_within(standby, TAKEOVER)
        with standby.client() as c:
            assert c.get("/api/v1/hosts/h7/services/s3").status_code == 200
        assert active.log is not None
        assert "lost the site lock" in active.log.read_text()
    finally:
        active.stop()
        standby.stop()
