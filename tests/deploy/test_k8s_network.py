"""The NetworkPolicies of each overlay, evaluated: which pod may talk to which on which port.

A small evaluator of the NetworkPolicy API (networking.k8s.io/v1): a pod selected by a policy
of a direction is isolated in that direction and reached only through the rules of such
policies; a flow needs the source's egress and the destination's ingress. ``ipBlock`` peers
are taken as addresses outside the cluster's pods, as Cilium does (on plugins that also match
pod addresses, the documented monitoring-egress policy reaches pods' open ports too)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import pytest
from k8s_manifests import Manifest, build, pod_labels

NS = "lookout"


@dataclass(frozen=True)
class Peer:
    """A pod (namespace and labels) or an address outside the cluster's pods."""

    name: str
    namespace: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    ip: str = ""


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for e in selector.get("matchExpressions", []):
        has, value = e["key"] in labels, labels.get(e["key"])
        ok = {
            "In": has and value in e.get("values", []),
            "NotIn": not has or value not in e.get("values", []),
            "Exists": has,
            "DoesNotExist": not has,
        }[e["operator"]]
        if not ok:
            return False
    return True


def namespace_labels(name: str) -> dict[str, str]:
    return {"kubernetes.io/metadata.name": name}


def peer_matches(rule_peer: dict[str, Any], peer: Peer, policy_ns: str) -> bool:
    if "ipBlock" in rule_peer:
        if not peer.ip:
            return False
        addr = ipaddress.ip_address(peer.ip)
        block = rule_peer["ipBlock"]
        net = ipaddress.ip_network(block["cidr"])
        if addr.version != net.version or addr not in net:
            return False
        return not any(
            addr.version == ipaddress.ip_network(x).version and addr in ipaddress.ip_network(x)
            for x in block.get("except", [])
        )
    if peer.ip:
        return False
    if "namespaceSelector" in rule_peer:
        if not matches(rule_peer["namespaceSelector"], namespace_labels(peer.namespace)):
            return False
    elif peer.namespace != policy_ns:
        return False
    return matches(rule_peer.get("podSelector", {}), peer.labels)


def port_matches(ports: list[dict[str, Any]], port: int, protocol: str) -> bool:
    if not ports:
        return True
    for p in ports:
        if p.get("protocol", "TCP") != protocol:
            continue
        if "port" not in p:
            return True
        assert isinstance(p["port"], int), "named ports are not used in these manifests"
        if p["port"] <= port <= p.get("endPort", p["port"]):
            return True
    return False


def allowed(
    policies: list[Manifest], pod: Peer, other: Peer, port: int, protocol: str, direction: str
) -> bool:
    """Does ``pod`` (its policies) let traffic in from / out to ``other``?"""
    if pod.ip:  # outside the cluster: no policy of ours applies
        return True
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    selecting = [
        p
        for p in policies
        if p["metadata"]["namespace"] == pod.namespace
        and direction in p["spec"].get("policyTypes", ["Ingress"])
        and matches(p["spec"]["podSelector"], pod.labels)
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get(key, []):
            peers = rule.get(peers_key, [])
            if (not peers or any(peer_matches(x, other, pod.namespace) for x in peers)) and (
                port_matches(rule.get("ports", []), port, protocol)
            ):
                return True
    return False


def flow(policies: list[Manifest], src: Peer, dst: Peer, port: int, protocol: str) -> bool:
    return allowed(policies, src, dst, port, protocol, "Egress") and allowed(
        policies, dst, src, port, protocol, "Ingress"
    )


PORTS = [(53, "UDP"), (53, "TCP"), (22, "TCP"), (161, "UDP"), (443, "TCP"), (4222, "TCP")]
PORTS += [(5432, "TCP"), (6222, "TCP"), (8080, "TCP"), (8222, "TCP"), (8443, "TCP")]

EXTERNAL = Peer("internet", ip="203.0.113.7")
METADATA = Peer("cloud-metadata", ip="169.254.169.254")
DNS = Peer("dns", "kube-system", {"k8s-app": "kube-dns"})


def peers(objects: list[Manifest]) -> dict[str, Peer]:
    """The overlay's pods by workload name, the cluster DNS and two outside addresses."""
    found = {
        o["metadata"]["name"].removeprefix("lookout-"): Peer(
            o["metadata"]["name"], NS, pod_labels(o)
        )
        for o in objects
        if o["kind"] in ("Deployment", "StatefulSet", "Job")
    }
    return {**found, "dns": DNS, "internet": EXTERNAL, "metadata": METADATA}


def flows(overlay: str, *others: str) -> set[tuple[str, str, str]]:
    objects = build(overlay) + [o for other in others for o in build(other)]
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    everyone = peers(objects)
    return {
        (s, d, f"{port}/{proto}")
        for s, src in everyone.items()
        for d, dst in everyone.items()
        for port, proto in PORTS
        if s != d or src.ip == ""  # a pod to another replica of itself counts
        if flow(policies, src, dst, port, proto)
    } - {(s, d, p) for s, d, p in _unpoliced(everyone)}


def _unpoliced(everyone: dict[str, Peer]) -> set[tuple[str, str, str]]:
    """Flows between peers none of our policies govern (DNS and the outside world)."""
    outside = {"dns", "internet", "metadata"}
    return {
        (s, d, f"{port}/{proto}")
        for s in outside
        for d in outside
        for port, proto in PORTS
        if s in everyone and d in everyone
    }


def to_everywhere_outside(src: str) -> set[tuple[str, str, str]]:
    return {(src, "internet", f"{p}/{proto}") for p, proto in PORTS}


def dns(src: str) -> set[tuple[str, str, str]]:
    return {(src, "dns", "53/UDP"), (src, "dns", "53/TCP")}


def from_anywhere(dst: str, *ports: int) -> set[tuple[str, str, str]]:
    """Any address or pod (the DNS pod stands for pods of other namespaces, the ingress's)."""
    return {(o, dst, f"{p}/TCP") for o in ("internet", "metadata", "dns") for p in ports}


SITE_ALONE = dns("site") | to_everywhere_outside("site") | from_anywhere("site", 8080, 8443)

WITH_WORKERS = (
    SITE_ALONE
    | {(w, "nats", "4222/TCP") for w in ("site", "worker-default", "worker-snmp")}
    | {("nats", "nats", "6222/TCP")}
    | dns("nats")
    | dns("worker-default")
    | dns("worker-snmp")
    | to_everywhere_outside("worker-default")
    | to_everywhere_outside("worker-snmp")
)


def test_site_alone_speaks_dns_takes_http_and_agents_and_checks_the_world() -> None:
    assert flows("sqlite") == SITE_ALONE


def test_with_workers_only_the_site_and_the_workers_reach_nats_and_nats_routes_itself() -> None:
    assert flows("workers") == WITH_WORKERS


def test_on_postgres_the_update_job_reaches_dns_and_the_database_only() -> None:
    database = {("update", "internet", "5432/TCP")}
    assert flows("postgres", "postgres/update") == WITH_WORKERS | dns("update") | database


@pytest.mark.parametrize("overlay", ["sqlite", "workers", "postgres"])
def test_nothing_reaches_the_cloud_metadata_service(overlay: str) -> None:
    assert not {f for f in flows(overlay) if f[1] == "metadata"}


def test_another_tenants_pods_reach_only_the_sites_public_ports() -> None:
    """Another site in namespace lookout-b, with the same labels: its workers cannot take this
    site's jobs from NATS (ingress alone decides that, whatever the other's egress)."""
    objects = build("workers")
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    ours = peers(objects)
    for name in ("worker-default", "site", "nats"):
        stranger = Peer(f"b-{name}", "lookout-b", ours[name].labels)
        for target in ("site", "nats", "worker-default", "worker-snmp"):
            for port, proto in PORTS:
                open_ = allowed(policies, ours[target], stranger, port, proto, "Ingress")
                public = target == "site" and port in (8080, 8443)
                assert open_ == public, (name, target, port)


def test_the_evaluator_reads_selectors_ports_and_blocks() -> None:
    """So that the flow tests above can fail: one policy, every kind of peer."""
    api_pods = {"matchExpressions": [{"key": "app", "operator": "In", "values": ["api"]}]}
    policy = {
        "metadata": {"namespace": NS},
        "spec": {
            "podSelector": {"matchLabels": {"app": "db"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {"podSelector": api_pods},
                        {"namespaceSelector": {"matchLabels": namespace_labels("ops")}},
                        {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.9.0.0/16"]}},
                    ],
                    "ports": [{"protocol": "TCP", "port": 5432, "endPort": 5433}],
                }
            ],
        },
    }  # fmt: skip
    db = Peer("db", NS, {"app": "db"})
    api, web = Peer("api", NS, {"app": "api"}), Peer("web", NS, {"app": "web"})
    ops, far = Peer("ops", "ops", {}), Peer("far", "other", {"app": "api"})
    inside, excepted = Peer("in", ip="10.1.2.3"), Peer("ex", ip="10.9.0.1")
    for peer, expected in ((api, True), (web, False), (ops, True), (far, False)):
        assert allowed([policy], db, peer, 5432, "TCP", "Ingress") is expected, peer.name
    assert allowed([policy], db, inside, 5433, "TCP", "Ingress")
    assert not allowed([policy], db, excepted, 5432, "TCP", "Ingress")
    assert not allowed([policy], db, api, 5434, "TCP", "Ingress")
    assert not allowed([policy], db, api, 5432, "UDP", "Ingress")
    assert allowed([policy], api, db, 1, "TCP", "Ingress")  # not selected: not isolated
