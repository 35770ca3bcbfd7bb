"""Alertmanager's webhook into a real site: services made on first sight, states by severity,
resolved → OK, malformed bodies refused with the path of what is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from livesite import LiveSite, make_site

pytestmark = pytest.mark.integration
URL = "/api/v1/integrations/alertmanager"


def alert(status: str = "firing", **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "NodeDiskFull", "instance": "node1:9100", **labels},
        "annotations": {"summary": "disk / is 97% full", "description": "only 3% left"},
        "startsAt": "2026-12-04T10:00:00.000Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
        "fingerprint": "0123456789abcdef",
    }


def payload(*alerts: dict[str, Any], status: str = "firing") -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="NodeDiskFull"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "lookout",
        "groupLabels": {"alertname": "NodeDiskFull"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
        "someFutureField": {"ignored": True},
    }


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    """One site for the module (each test uses its own hosts): starting one takes seconds."""
    site = make_site(Path(tmp_path_factory.mktemp("am")) / "site")
    site.start()
    try:
        yield site
    finally:
        site.stop()


def service(c: httpx.Client, host: str, name: str) -> dict[str, Any]:
    r = c.get(f"/api/v1/hosts/{host}/services/{quote(name)}")
    r.raise_for_status()
    answer: dict[str, Any] = r.json()
    return answer


def test_alerts_become_services_with_states_by_severity(live_site: LiveSite) -> None:
    with live_site.client() as c:
        r = c.post(
            URL,
            json=payload(
                alert(severity="critical", device="/dev/sda1"),
                alert(severity="warning", device="/dev/sdb1"),
                alert(severity="info", device="/dev/sdc1"),
                alert(severity="page", device="/dev/sdd1"),
            ),
        )
        assert r.status_code == 200, r.text
        assert r.json()["alerts"] == 4
        assert r.json()["created_hosts"] == ["node1"]
        states = {
            dev: service(c, "node1", f"NodeDiskFull device={dev}")["state_name"]
            for dev in ("/dev/sda1", "/dev/sdb1", "/dev/sdc1", "/dev/sdd1")
        }
        assert states == {
            "/dev/sda1": "CRIT",
            "/dev/sdb1": "WARN",
            "/dev/sdc1": "OK",
            "/dev/sdd1": "WARN",  # unknown severity: other_severity
        }
        svc = service(c, "node1", "NodeDiskFull device=/dev/sda1")
        assert svc["summary"] == "NodeDiskFull firing: disk / is 97% full"
        assert "source: http://prometheus:9090/graph?g0.expr=up" in svc["long_output"]
        assert "fingerprint: 0123456789abcdef" in svc["long_output"]
        assert svc["labels"]["lookout/source"] == "alertmanager"
        kept = svc["params"]["alertmanager"]
        assert kept["fingerprint"] == "0123456789abcdef"
        assert kept["generator_url"] == "http://prometheus:9090/graph?g0.expr=up"
        assert kept["labels"]["severity"] == "critical"
        assert kept["group_key"] == '{}:{alertname="NodeDiskFull"}'
        host = c.get("/api/v1/hosts/node1").json()
        assert host["labels"] == {"lookout/source": "alertmanager"}

        resolved = alert("resolved", severity="critical", device="/dev/sda1")
        resolved["endsAt"] = "2026-12-04T10:05:00.000Z"
        assert c.post(URL, json=payload(resolved, status="resolved")).status_code == 200
        svc = service(c, "node1", "NodeDiskFull device=/dev/sda1")
        assert svc["state_name"] == "OK"
        assert svc["summary"] == "NodeDiskFull resolved: disk / is 97% full"


def test_host_from_the_label_mapping_or_the_fallback(live_site: LiveSite) -> None:
    no_host = alert(severity="critical")
    del no_host["labels"]["instance"]
    by_namespace = alert(severity="warning", namespace="shop")
    del by_namespace["labels"]["instance"]
    with live_site.client() as c:
        assert c.post(URL, json=payload(no_host, by_namespace)).status_code == 200
        assert service(c, "alertmanager", "NodeDiskFull")["state_name"] == "CRIT"
        assert service(c, "shop", "NodeDiskFull")["state_name"] == "WARN"


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda p: p.pop("alerts"), ["alerts"]),
        (lambda p: p.update(version="3"), ["version"]),
        (lambda p: p["alerts"][0].update(labels=["x"]), ["alerts", 0, "labels"]),
        (lambda p: p["alerts"][0].update(status="burning"), ["alerts", 0, "status"]),
        (lambda p: p["alerts"][0].update(startsAt="yesterday"), ["alerts", 0, "startsAt"]),
        (lambda p: p["alerts"][0]["labels"].update(x="a\u0000b"), ["alerts", 0, "labels", "x"]),
    ],
)
def test_malformed_webhooks_are_refused_naming_the_field(
    live_site: LiveSite, change: Any, where: list[Any]
) -> None:
    body = payload(alert(severity="critical", instance="refused:9100"))
    change(body)
    with live_site.client() as c:
        r = c.post(URL, json=body)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["loc"][: len(where)] == where
        assert c.get("/api/v1/hosts/refused").status_code == 404


def test_the_webhook_needs_an_operator_token(live_site: LiveSite) -> None:
    r = httpx.post(live_site.url + URL, json=payload(alert(severity="critical")))
    assert r.status_code == 401
