"""Both ways with a real Alertmanager: alerts pushed into it reach the site through its webhook;
acks and downtimes in Lookout become silences there and go with them; a silence made there
acknowledges the service here."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from amserver import Pair, wait_for
from livesite import free_port, make_site

pytestmark = pytest.mark.integration
LABELS = {"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "cart-1"}
SERVICE = "KubePodCrashLooping pod=cart-1"  # host: the namespace (no instance, no node)


def firing(**extra: str) -> dict[str, Any]:
    return {
        "labels": {**LABELS, "severity": "warning", **extra},
        "annotations": {"summary": "cart-1 restarts"},
        "generatorURL": "http://prometheus:9090/graph",
    }


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def status(c: httpx.Client, name: str = SERVICE) -> dict[str, Any] | None:
    r = c.get(f"/api/v1/hosts/shop/services/{quote(name)}")
    return r.json() if r.status_code == 200 else None


def active_silences(pair: Pair) -> list[dict[str, Any]]:
    return [s for s in pair.am.silences() if s["status"]["state"] == "active"]


def test_alert_ack_and_downtime_become_silences(pair: Pair) -> None:
    pair.am.push(firing())
    with pair.site.client() as c:
        st = wait_for("the alert in Lookout", lambda: status(c))
        assert st["state_name"] == "WARN"
        assert st["summary"] == "KubePodCrashLooping firing: cart-1 restarts"

        r = c.post(
            "/api/v1/actions/acknowledge",
            json={"host": "shop", "service": SERVICE, "comment": "looking at it"},
        )
        assert r.status_code == 200, r.text
        (silence,) = wait_for("a silence for the ack", lambda: active_silences(pair))
        assert silence["createdBy"] == "admin"
        assert silence["comment"] == "looking at it"
        matchers = {m["name"]: (m["value"], m["isRegex"]) for m in silence["matchers"]}
        assert matchers == {k: (v, False) for k, v in {**LABELS, "severity": "warning"}.items()}
        ends = datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00"))
        assert ends > datetime.now(UTC) + timedelta(days=300)  # sticky: until removed

        c.post("/api/v1/actions/remove-acknowledgement", json={"host": "shop", "service": SERVICE})
        wait_for("the silence expired", lambda: not active_silences(pair))

        end = time.time() + 3600
        r = c.post(
            "/api/v1/actions/schedule-downtime",
            json={
                "host": "shop",
                "service": SERVICE,
                "start": time.time(),
                "end": end,
                "comment": "upgrade",
            },
        )
        assert r.status_code in (200, 201), r.text
        downtime_id = r.json()["ids"][0]
        (silence,) = wait_for("a silence for the downtime", lambda: active_silences(pair))
        assert silence["comment"] == "upgrade"
        ends = datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00"))
        assert abs(ends.timestamp() - end) < 1
        c.post("/api/v1/actions/remove-downtime", json={"ids": [downtime_id]})
        wait_for("the downtime's silence expired", lambda: not active_silences(pair))


def test_resolved_alert_turns_ok_and_its_ack_silence_goes(pair: Pair) -> None:
    pair.am.push(firing())
    with pair.site.client() as c:
        wait_for("the alert in Lookout", lambda: status(c))
        c.post(
            "/api/v1/actions/acknowledge", json={"host": "shop", "service": SERVICE, "comment": "x"}
        )
        wait_for("a silence for the ack", lambda: active_silences(pair))
        past = datetime.now(UTC) - timedelta(seconds=1)
        pair.am.push({**firing(), "endsAt": iso(past)})
        wait_for("OK in Lookout", lambda: (status(c) or {}).get("state_name") == "OK")
        wait_for("the ack's silence expired", lambda: not active_silences(pair))


def test_a_silence_made_in_alertmanager_acknowledges_here(pair: Pair) -> None:
    pair.am.push(firing())
    with pair.site.client() as c:
        wait_for("the alert in Lookout", lambda: status(c))
        now = datetime.now(UTC)
        with pair.am.client() as am:
            r = am.post(
                "/api/v2/silences",
                json={
                    "matchers": [
                        {"name": "namespace", "value": "shop", "isRegex": False},
                        {"name": "pod", "value": "cart-.*", "isRegex": True},
                    ],
                    "startsAt": iso(now),
                    "endsAt": iso(now + timedelta(hours=2)),
                    "createdBy": "carol",
                    "comment": "known, ticket 42",
                },
            )
            silence_id = r.json()["silenceID"]
        st = wait_for("the ack from the silence", lambda: (status(c) or {}).get("acknowledgement"))
        assert st["author"] == "carol"
        assert st["comment"].startswith("known, ticket 42")
        assert abs(st["expire_at"] - (now + timedelta(hours=2)).timestamp()) < 1
        assert len(active_silences(pair)) == 1  # no second silence made for that ack

        with pair.am.client() as am:
            am.delete(f"/api/v2/silence/{silence_id}").raise_for_status()
        wait_for("the ack gone", lambda: not (status(c) or {}).get("acknowledged", True))


def test_an_unreachable_alertmanager_is_counted_not_fatal(tmp_path: Path) -> None:
    site = make_site(
        tmp_path / "site",
        alertmanager={"url": f"http://127.0.0.1:{free_port()}", "sync_interval": 0.2},
    )
    site.start()
    try:

        def failures() -> float:
            for line in httpx.get(f"{site.url}/metrics").text.splitlines():
                if line.startswith("lookout_alertmanager_sync_failures_total "):
                    return float(line.split()[1])
            raise AssertionError("no lookout_alertmanager_sync_failures_total")

        wait_for("failed sync rounds", lambda: failures() >= 2)
        with site.client() as c:  # the webhook does not need Alertmanager's API
            r = c.post(
                "/api/v1/integrations/alertmanager",
                json={
                    "version": "4",
                    "status": "firing",
                    "alerts": [
                        {
                            "status": "firing",
                            "labels": {**LABELS, "severity": "critical"},
                            "startsAt": iso(datetime.now(UTC)),
                        }
                    ],
                },
            )
            assert r.status_code == 200, r.text
            assert status(c)["state_name"] == "CRIT"  # type: ignore[index]
    finally:
        site.stop()
