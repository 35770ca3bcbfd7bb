"""Cluster-level services: API health, versions, node counts, requests vs allocatable, pods."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime

from lookout.checks.kube.api import (
    CRIT,
    OK,
    UNKNOWN,
    WARN,
    Outcome,
    cores,
    human_bytes,
    lower,
    mark,
    metric,
    percent,
    worst,
)
from lookout.checks.kube.params import KubeParams
from lookout.checks.kube.pods import condition
from lookout.checks.kube.quantity import get
from lookout.checks.kube.sections import Node, Pod
from lookout.checks.kube.view import Certificate, Objects, Usage

CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")


def api_health(health: dict[str, tuple[int | None, str]]) -> Outcome:
    """``health``: endpoint (``/readyz``, ``/livez``) → (HTTP status or None, body or error)."""
    if not health:
        return Outcome(UNKNOWN, "API health not read yet")
    lines, states = [], []
    for path, (code, text) in sorted(health.items()):
        good = code == 200
        states.append(OK if good else CRIT)
        lines.append(f"{path}: {code if code is not None else 'no answer'} {text.strip()[:200]}")
    state = worst(*states)
    bad = [p for p, (c, _) in sorted(health.items()) if c != 200]
    summary = "live and ready" if not bad else "not OK: " + ", ".join(bad)
    return Outcome(state, summary, "\n".join(lines))


_MINOR = re.compile(r"v?(\d+)\.(\d+)")


def minor(version: str) -> tuple[int, int] | None:
    m = _MINOR.match(version or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def version(server: str, nodes: list[Node]) -> Outcome:
    """API server version and version skew of the kubelets (policy: kubelets may be up to 3
    minor versions older than the API server, never newer; mixin KubeVersionMismatch: more than
    one version in the cluster is a WARN)."""
    kubelets = Counter(n.status.node_info.kubelet_version for n in nodes if n.status.node_info)
    details = [f"kubelet {v}: {c} node(s)" for v, c in sorted(kubelets.items())]
    srv = minor(server)
    if srv is None:
        return Outcome(UNKNOWN, f"API server version {server!r} not understood", "\n".join(details))
    state, notes = OK, []
    for v in kubelets:
        k = minor(v)
        if k is None:
            continue
        if k > srv:
            state = CRIT
            notes.append(f"kubelet {v} is newer than the API server")
        elif srv[1] - k[1] > 3 or k[0] != srv[0]:
            state = worst(state, CRIT)
            notes.append(f"kubelet {v} is more than 3 minor versions behind")
    if len(kubelets) > 1:
        state = worst(state, WARN)
        notes.append(f"{len(kubelets)} kubelet versions in the cluster")
    summary = f"API server {server}" + (", " + "; ".join(notes) if notes else "")
    return Outcome(state, summary, "\n".join(details))


def is_ready(node: Node) -> bool:
    c = condition(node.status.conditions, "Ready")
    return c is not None and c.status == "True"


def is_control_plane(node: Node) -> bool:
    labels = node.metadata.labels or {}
    return any(k in labels for k in CONTROL_PLANE_LABELS)


def node_count(nodes: list[Node]) -> Outcome:
    ready = [n for n in nodes if is_ready(n)]
    not_ready = [n.metadata.name for n in nodes if not is_ready(n)]
    cp = sum(1 for n in nodes if is_control_plane(n))
    if not nodes:
        return Outcome(CRIT, "no nodes")
    state = OK if not not_ready else (CRIT if not ready else WARN)
    summary = f"{len(ready)} ready, {len(not_ready)} not ready ({cp} control plane)"
    details = "Not ready: " + ", ".join(sorted(not_ready)) if not_ready else ""
    metrics = (
        metric("kube_nodes_ready", len(ready), lo=0),
        metric("kube_nodes_not_ready", len(not_ready), lo=0),
    )
    return Outcome(state, summary, details, metrics)


def scheduled_pods(pods: list[Pod]) -> list[Pod]:
    return [p for p in pods if p.status.phase in ("Pending", "Running") and p.spec.node_name]


def overcommit(resource: str, objs: Objects, params: KubeParams, requested: float) -> Outcome:
    """Requests of scheduled pods vs allocatable of schedulable, ready nodes. CRIT when the
    requests exceed allocatable; WARN when the cluster could not take the load of its largest
    node (mixin KubeCPUOvercommit / KubeMemoryOvercommit)."""
    nodes = [n for n in objs.nodes.values() if is_ready(n) and not n.spec.unschedulable]
    alloc = [get(n.status.allocatable, resource) for n in nodes]
    total = sum(alloc)
    fmt = cores if resource == "cpu" else human_bytes
    unit = "" if resource == "cpu" else "B"
    enabled = params.overcommit_cpu if resource == "cpu" else params.overcommit_memory
    largest = max(alloc, default=0.0)
    spare = total - largest
    state, note = OK, ""
    if enabled and total > 0 and requested > total:
        state, note = CRIT, " — requests exceed allocatable"
    elif enabled and len(nodes) > 1 and requested > spare:
        state, note = WARN, " — cannot tolerate losing the largest node"
    pct = percent(requested, total)
    summary = f"requests {fmt(requested)} of {fmt(total)} allocatable ({pct:.1f}%){note}"
    details = (
        f"Ready schedulable nodes: {len(nodes)}; allocatable without the largest node: {fmt(spare)}"
    )
    name = f"kube_{resource}_requests"
    metrics = (
        metric(name, requested, unit, lo=0, hi=total),
        metric(f"kube_{resource}_allocatable", total, unit, lo=0),
        metric(f"kube_{resource}_requests_percent", pct, "%", lo=0),
    )
    return Outcome(state, summary, details, metrics)


def pods_per_phase(pods: list[Pod]) -> tuple[str, tuple[object, ...]]:
    phases = Counter(p.status.phase or "Unknown" for p in pods)
    order = ("Running", "Pending", "Succeeded", "Failed", "Unknown")
    text = ", ".join(
        f"{phases.get(ph, 0)} {ph.lower()}" for ph in order if phases.get(ph, 0) or ph in order[:2]
    )
    metrics = tuple(metric(f"kube_pods_{ph.lower()}", phases.get(ph, 0), lo=0) for ph in order)
    return text, metrics


def pods(all_pods: list[Pod]) -> Outcome:
    text, metrics = pods_per_phase(all_pods)
    return Outcome(OK, text, "", metrics)  # type: ignore[arg-type]


def heartbeat(
    connected: bool,
    error: str,
    objects: int,
    last_event_age: float | None,
    relists: int,
    denied: dict[str, str] | None = None,
    rejected: dict[str, str] | None = None,
    unserved: dict[str, str] | None = None,
) -> Outcome:
    """Proves the pipeline runs: the monitor is connected and watching. Resources RBAC does
    not let us list are named (CRIT: their objects are not monitored)."""
    if not connected:
        return Outcome(CRIT, f"not connected: {error}" if error else "not connected")
    if denied:
        names = ", ".join(sorted(denied))
        details = "\n".join(f"{k}: {v}" for k, v in sorted(denied.items()))
        return Outcome(CRIT, f"may not list {names} (RBAC); see `lookout kube rbac`", details)
    if rejected:
        names = ", ".join(sorted(rejected)[:5]) + (" …" if len(rejected) > 5 else "")
        details = "\n".join(f"{k}: {v}" for k, v in sorted(rejected.items()))
        return Outcome(WARN, f"{len(rejected)} object(s) not understood, skipped: {names}", details)
    if unserved:
        details = "\n".join(f"{k}: {v}" for k, v in sorted(unserved.items()))
        return Outcome(
            WARN, f"not served by this API server: {', '.join(sorted(unserved))}", details
        )
    age = "no events yet" if last_event_age is None else f"last change {last_event_age:.0f}s ago"
    summary = f"watching {objects} objects, {age}"
    details = f"Relists since start: {relists}" + (f"\nLast error: {error}" if error else "")
    return Outcome(OK, summary, details, (metric("kube_objects", objects, lo=0),))


def usage_source(usage: Usage, nodes: int, pods: int) -> Outcome:
    """Whether the usage source reads anything. A source that answers but reads nothing (no
    node, no pod) leaves every usage service without data: that is a problem, not OK."""
    src = usage.source or "usage"
    if usage.error:
        return Outcome(CRIT, f"{src}: {usage.error}")
    read_nodes, read_pods = len(usage.nodes), len(usage.pods)
    counts = f"{read_pods} pods, {read_nodes} nodes"
    failed = sorted(usage.node_errors)
    details = "\n".join(f"{n}: {usage.node_errors[n]}" for n in failed)
    metrics = (
        metric("kube_usage_nodes", read_nodes, lo=0, hi=nodes),
        metric("kube_usage_pods", read_pods, lo=0),
    )
    if not read_nodes and not read_pods and (nodes or pods):
        why = f"; first error: {failed[0]}: {usage.node_errors[failed[0]]}" if failed else ""
        return Outcome(
            CRIT, f"{src} read nothing ({counts} of {nodes} nodes in the cluster){why}", details
        )
    if failed:
        named = ", ".join(failed[:5]) + (" …" if len(failed) > 5 else "")
        return Outcome(
            WARN,
            f"{src}: {counts}; stats of {len(failed)} of {nodes} nodes not readable: {named}",
            details,
            metrics,
        )
    if src == "prometheus" and not read_nodes and nodes:
        return Outcome(
            WARN, f"{src}: {counts}; no node series (is kube_pod_info scraped?)", "", metrics
        )
    return Outcome(OK, f"{src}: {counts}", details, metrics)


def api_certificate(
    cert: Certificate | None, error: str, now: float, params: KubeParams
) -> Outcome:
    """Days left on the API server's serving certificate, from the TLS handshake (mixin
    KubeClientCertificateExpiration: 7 d / 1 d; here 30 d / 7 d by default: an API server
    certificate is renewed by hand or by an upgrade, which wants notice)."""
    if cert is None:
        return Outcome(UNKNOWN, f"certificate not read: {error}" if error else "not read yet")
    days = (cert.not_after - now) / 86400
    state = lower(days, params.cert_days_levels)
    when = datetime.fromtimestamp(cert.not_after, UTC).strftime("%Y-%m-%d %H:%M UTC")
    left = f"expired {-days:.0f} days ago" if days < 0 else f"{days:.0f} days left"
    summary = f"{cert.subject}, expires {when} ({left}){mark(state)}"
    details = f"Issuer: {cert.issuer}"
    return Outcome(
        state, summary, details, (metric("days_left", days, "", params.cert_days_levels),)
    )
