"""The alertmanager channel against a real Alertmanager: a problem fires an alert with its
labels and end, a state change moves it to the new severity, the recovery resolves it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pydantic
import pytest

from amserver import Alertmanager, start, wait_for
from livesite import LiveSite
from lookout.notify.channels.alertmanager import AlertmanagerChannel
from lookout.notify.channels.base import ChannelContext
from lookout.notify.clock import RealClock
from lookout.notify.model import Notification, Outgoing
from lookout.notify.spec import CHANNEL_ADAPTER, AlertmanagerSpec
from lookout.notify.store import NotifyStore

pytestmark = pytest.mark.integration


@pytest.fixture
def am(tmp_path: Path) -> Iterator[Alertmanager]:
    server = start(tmp_path / "am", "", "")
    try:
        yield server
    finally:
        server.stop()


def note(kind: str, state: str) -> Notification:
    now = time.time()
    return Notification(
        kind=kind,
        host="db1",
        service="Disk /var",
        state=state,
        summary=f"/var {state}",
        at=now,
        since=now - 60,
        url="http://lookout.example/hosts/db1",
    )


def firing(am: Alertmanager) -> list[dict[str, Any]]:
    with am.client() as c:
        alerts: list[dict[str, Any]] = c.get("/api/v2/alerts").json()
    return [a for a in alerts if a["status"]["state"] == "active"]


async def test_problem_fires_and_recovery_resolves(am: Alertmanager, store: NotifyStore) -> None:
    spec = AlertmanagerSpec(url=am.url, labels={"team": "dba"}, ends_after=3600)
    channel = AlertmanagerChannel("am", spec, ChannelContext(store, RealClock(), site_name="prod"))
    try:
        await channel.send(Outgoing(recipient="*", notes=[note("problem", "WARN")], keys=["k1"]))
        (alert,) = firing(am)
        assert alert["labels"] == {
            "alertname": "Disk /var",
            "instance": "db1",
            "lookout_site": "prod",
            "severity": "warning",
            "team": "dba",
        }
        assert alert["annotations"]["summary"] == "/var WARN"
        assert alert["generatorURL"] == "http://lookout.example/hosts/db1"
        ends = datetime.fromisoformat(alert["endsAt"].replace("Z", "+00:00")).timestamp()
        assert abs(ends - (time.time() + 3600)) < 60

        await channel.send(Outgoing(recipient="*", notes=[note("problem", "CRIT")], keys=["k2"]))
        assert [a["labels"]["severity"] for a in firing(am)] == ["critical"]

        await channel.send(Outgoing(recipient="*", notes=[note("recovery", "OK")], keys=["k3"]))
        assert firing(am) == []
    finally:
        await channel.aclose()


def test_spec_refuses_what_is_not_an_alertmanager() -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        CHANNEL_ADAPTER.validate_python({"type": "alertmanager", "url": "alertmanager:9093"})
    assert info.value.errors()[0]["loc"] == ("alertmanager", "url")
    spec = CHANNEL_ADAPTER.validate_python({"type": "alertmanager", "url": "http://am:9093"})
    assert isinstance(spec, AlertmanagerSpec)


def test_a_site_routes_problems_to_alertmanager(am: Alertmanager, live_site: LiveSite) -> None:
    """Through the site's rules and outbox: a hard CRIT fires an alert, the recovery resolves
    it; the channel's password is never read back."""
    with live_site.client() as c:
        spec = {"type": "alertmanager", "url": am.url, "username": "u", "password": "pw"}
        r = c.post("/api/v1/notifications/channels", json={"name": "am", "spec": spec})
        assert r.status_code == 200, r.text
        assert r.json()["spec"]["password"] == "********"
        r = c.post(
            "/api/v1/notifications/rules",
            json={"name": "all", "channels": ["am"], "events": ["problem", "recovery"]},
        )
        assert r.status_code == 200, r.text
        c.post("/api/v1/hosts", json={"name": "web01"}).raise_for_status()
        c.post(
            "/api/v1/hosts/web01/services", json={"name": "http", "max_check_attempts": 1}
        ).raise_for_status()

        def submit(state: int) -> None:
            result = {"host": "web01", "service": "http", "state": state, "summary": "503"}
            c.post("/api/v1/results", json={"results": [result]}).raise_for_status()

        submit(2)
        (alert,) = wait_for("the problem in Alertmanager", lambda: firing(am))
        assert alert["labels"]["alertname"] == "http"
        assert alert["labels"]["severity"] == "critical"
        submit(0)
        wait_for("the alert resolved", lambda: not firing(am))
