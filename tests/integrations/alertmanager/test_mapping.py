"""Which host and service an alert is, and its state (pure)."""

from __future__ import annotations

import pytest

from lookout.config import AlertmanagerSettings
from lookout.integrations.alertmanager.mapping import host_of, service_of
from lookout.integrations.alertmanager.silences import matches
from lookout.wire.alertmanager import Matcher

CFG = AlertmanagerSettings()


@pytest.mark.parametrize(
    ("labels", "host"),
    [
        ({"instance": "node1:9100", "node": "n"}, ("node1", "instance")),
        ({"instance": "[::1]:9100"}, ("::1", "instance")),
        ({"instance": "10.0.0.5"}, ("10.0.0.5", "instance")),
        ({"node": "worker-2", "namespace": "shop"}, ("worker-2", "node")),
        ({"namespace": "shop"}, ("shop", "namespace")),
        ({"job": "x"}, ("alertmanager", "")),
        ({"instance": "-bad", "namespace": "shop"}, ("shop", "namespace")),
    ],
)
def test_host_from_the_first_usable_label(labels: dict[str, str], host: tuple[str, str]) -> None:
    assert host_of(labels, CFG) == host


def test_service_name_leaves_out_host_label_and_severity() -> None:
    labels = {"alertname": "A", "instance": "n:1", "severity": "critical", "job": "node"}
    assert service_of(labels, "instance") == "A job=node"
    assert service_of({"alertname": "A"}, "") == "A"
    long = service_of({"alertname": "A", "x": "y" * 300}, "")
    assert len(long) <= 200
    assert long.startswith("A x=yyy")
    assert long != service_of({"alertname": "A", "x": "y" * 299}, "")


def test_severity_mapping_is_validated() -> None:
    assert AlertmanagerSettings(severities=["page=CRIT"]).state_names() == {"page": "CRIT"}
    with pytest.raises(ValueError, match="severity=OK"):
        AlertmanagerSettings(severities=["page=RED"])


def test_silence_matchers_as_alertmanager_matches() -> None:
    labels = {"namespace": "shop", "pod": "cart-1"}
    m = Matcher.model_validate
    assert matches([m({"name": "pod", "value": "cart-.*", "isRegex": True})], labels)
    assert not matches([m({"name": "pod", "value": "cart", "isRegex": True})], labels)
    assert matches([m({"name": "team", "value": "", "isRegex": False})], labels)
    assert not matches([m({"name": "namespace", "value": "shop", "isEqual": False})], labels)
