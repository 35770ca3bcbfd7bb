"""Node services: conditions, taints and flapping; kubelet; usage; pods; runtime info."""

from __future__ import annotations

from lookout.checks.kube.api import (
    CRIT,
    OK,
    UNKNOWN,
    WARN,
    Outcome,
    cores,
    human_age,
    human_bytes,
    lower,
    mark,
    metric,
    percent,
    upper,
    worst,
)
from lookout.checks.kube.cluster import is_ready
from lookout.checks.kube.memory import Memory
from lookout.checks.kube.params import KubeParams
from lookout.checks.kube.quantity import get
from lookout.checks.kube.sections import Node, Pod
from lookout.checks.kube.view import Certificate, NodeUsage

EXPECTED = {
    "Ready": "True",
    "MemoryPressure": "False",
    "DiskPressure": "False",
    "PIDPressure": "False",
    "NetworkUnavailable": "False",
}
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
FLAP_WINDOW = 900.0


def conditions(node: Node, params: KubeParams, memory: Memory, now: float) -> Outcome:
    """Ready and the pressure conditions (mixin: not ready WARN; pressure info → WARN here),
    the unreachable taint, and readiness flapping (> 2 changes in 15 minutes)."""
    name = node.metadata.name
    lines, state, bad = [], OK, []
    ready_value = "Unknown"
    for cond in node.status.conditions or ():
        expected = EXPECTED.get(cond.type, "False")
        if cond.type == "Ready":
            ready_value = cond.status
        good = cond.status == expected
        s = OK if good else (CRIT if cond.type == "Ready" else WARN)
        state = worst(state, s)
        if not good:
            bad.append(f"{cond.type}={cond.status}")
        lines.append(f"{cond.type}: {cond.status} {cond.reason} {cond.message}".rstrip() + mark(s))
    if not node.status.conditions:
        return Outcome(UNKNOWN, "the node reports no conditions")
    taints = [t for t in node.spec.taints or () if t.key == UNREACHABLE_TAINT]
    if taints:
        state = worst(state, CRIT)
        bad.append("unreachable taint")
    flips = memory.transitions(f"node/{name}/ready", ready_value, now, FLAP_WINDOW)
    if flips > params.node_flap_changes:
        state = worst(state, WARN)
        bad.append(f"readiness flapping ({flips} changes in 15m)")
    summary = "Ready, no pressure" if not bad else ", ".join(bad)
    cordoned = _cordoned_for(node, memory, now)
    if cordoned is not None:
        limit = params.node_cordoned_warn
        s = WARN if limit is not None and cordoned >= limit else OK
        state = worst(state, s)
        summary += f", cordoned for {human_age(cordoned)}{mark(s)}"
        lines.append(f"cordoned (unschedulable) for {human_age(cordoned)}{mark(s)}")
    return Outcome(
        state, summary, "\n".join(lines), (metric("kube_node_ready_changes", flips, lo=0),)
    )


def _cordoned_for(node: Node, memory: Memory, now: float) -> float | None:
    """Seconds the node has been cordoned (the ``unschedulable`` taint's ``timeAdded``, else
    since Lookout saw it), None when it is not."""
    cordoned = node.spec.unschedulable
    added = next(
        (t.time_added for t in node.spec.taints or () if t.key == UNSCHEDULABLE_TAINT), None
    )
    start = added.timestamp() if added is not None else None
    return memory.held_for(f"node/{node.metadata.name}/cordoned", cordoned, now, start)


def kubelet(
    node: Node,
    health: tuple[int | None, str] | None,
    stats_error: str | None,
    stats_read: bool,
) -> Outcome:
    """Kubelet health: ``/healthz`` through the API server's node proxy (CRIT unless 200), and
    whether its stats could be read (WARN if not, while healthy)."""
    info = node.status.node_info
    version = info.kubelet_version if info else "unknown"
    if health is not None and health[0] != 200:
        code = health[0] if health[0] is not None else "no answer"
        return Outcome(CRIT, f"kubelet {version} /healthz: {code} {health[1]}".rstrip())
    if health is None and stats_error:
        return Outcome(CRIT, f"kubelet {version} did not answer: {stats_error}")
    healthy = "healthy" if health is not None else "health not checked"
    if stats_error:
        return Outcome(WARN, f"kubelet {version} {healthy}, stats not readable: {stats_error}")
    if not is_ready(node):
        return Outcome(WARN, f"kubelet {version} {healthy}, node not ready")
    suffix = ", stats read" if stats_read else ""
    return Outcome(OK, f"kubelet {version} {healthy}{suffix}")


def with_certificate(
    out: Outcome, cert: Certificate | None, error: str, now: float, params: KubeParams
) -> Outcome:
    """The Kubelet outcome with its serving certificate's days left (mixin
    KubeletServerCertificateExpiration), where the site could read it; else only a note."""
    if cert is None:
        note = f"Serving certificate not read: {error}"
        return Outcome(
            out.state, out.summary, "\n".join(filter(None, [out.details, note])), out.metrics
        )
    days = (cert.not_after - now) / 86400
    s = lower(days, params.cert_days_levels)
    left = f"expired {-days:.0f} days ago" if days < 0 else f"{days:.0f} days left"
    summary = f"{out.summary}; serving certificate {left}{mark(s)}"
    details = "\n".join(filter(None, [out.details, f"Serving certificate: {cert.subject}"]))
    metrics = (*out.metrics, metric("kubelet_cert_days_left", days, "", params.cert_days_levels))
    return Outcome(worst(out.state, s), summary, details, metrics)


def _usage(
    label: str,
    used: float | None,
    requested: float,
    alloc: float,
    capacity: float,
    levels: tuple[float, float] | None,
    fmt: object,
    unit: str,
    name: str,
) -> Outcome:
    f = fmt if callable(fmt) else str
    req_pct = percent(requested, alloc)
    details = (
        f"Requests: {f(requested)} ({req_pct:.1f}% of allocatable)\n"
        f"Allocatable: {f(alloc)}, capacity: {f(capacity)}"
    )
    req_metrics = (metric(f"{name}_requests", requested, unit, lo=0, hi=alloc),)
    if used is None:
        return Outcome(
            OK,
            f"no usage data; requests {f(requested)} of {f(alloc)} allocatable",
            details,
            req_metrics,
        )
    pct = percent(used, alloc)
    state = upper(pct, levels)
    summary = f"{label} {f(used)} of {f(alloc)} allocatable ({pct:.1f}%){mark(state)}"
    metrics = (
        metric(name, used, unit, lo=0, hi=alloc),
        metric(f"{name}_percent", pct, "%", levels, lo=0, hi=100),
        *req_metrics,
    )
    return Outcome(state, summary, details, metrics)


def cpu(node: Node, requested: float, usage: NodeUsage | None, params: KubeParams) -> Outcome:
    """CPU usage (and requests of the scheduled pods, ``requested``) vs allocatable."""
    return _usage(
        "usage",
        usage.cpu if usage else None,
        requested,
        get(node.status.allocatable, "cpu"),
        get(node.status.capacity, "cpu"),
        params.node_cpu_levels,
        cores,
        "",
        "kube_node_cpu",
    )


def memory_usage(
    node: Node, requested: float, usage: NodeUsage | None, params: KubeParams
) -> Outcome:
    return _usage(
        "working set",
        usage.memory if usage else None,
        requested,
        get(node.status.allocatable, "memory"),
        get(node.status.capacity, "memory"),
        params.node_memory_levels,
        human_bytes,
        "B",
        "kube_node_memory",
    )


def filesystem(
    usage: NodeUsage | None, params: KubeParams, stats_error: str | None = None
) -> Outcome:
    """Node filesystem used vs capacity, from the kubelet's stats. Without them the service
    says it depends on the Kubelet service, which carries the cause (one cause, one alert)."""
    if stats_error:
        return Outcome(
            UNKNOWN, f"no filesystem data: depends on Kubelet (stats not readable: {stats_error})"
        )
    if usage is None or usage.fs_used is None or not usage.fs_capacity:
        return Outcome(UNKNOWN, "no filesystem data: depends on Kubelet (stats not read yet)")
    pct = percent(usage.fs_used, usage.fs_capacity)
    state = upper(pct, params.node_fs_levels)
    used, cap = human_bytes(usage.fs_used), human_bytes(usage.fs_capacity)
    summary = f"used {used} of {cap} ({pct:.1f}%){mark(state)}"
    metrics = (
        metric("fs_used", usage.fs_used, "B", lo=0, hi=usage.fs_capacity),
        metric("fs_used_percent", pct, "%", params.node_fs_levels, lo=0, hi=100),
    )
    return Outcome(state, summary, "", metrics)


def pod_capacity(node: Node, pods: list[Pod], params: KubeParams) -> Outcome:
    running = sum(1 for p in pods if p.status.phase in ("Running", "Pending"))
    cap = get(node.status.allocatable, "pods") or get(node.status.capacity, "pods")
    if not cap:
        return Outcome(UNKNOWN, f"{running} pods, pod capacity unknown")
    pct = percent(running, cap)
    state = upper(pct, params.node_pods_levels)
    summary = f"{running} of {cap:.0f} pods ({pct:.1f}%){mark(state)}, {cap - running:.0f} free"
    metrics = (
        metric("kube_node_pods", running, lo=0, hi=cap),
        metric("kube_node_pods_percent", pct, "%", params.node_pods_levels, lo=0, hi=100),
    )
    return Outcome(state, summary, "", metrics)


def info(node: Node) -> Outcome:
    i = node.status.node_info
    if i is None:
        return Outcome(UNKNOWN, "no node info")
    summary = (
        f"{i.os_image}, kernel {i.kernel_version}, {i.container_runtime_version}, {i.architecture}"
    )
    labels = node.metadata.labels or {}
    roles = sorted(k.rsplit("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    details = f"Kubelet: {i.kubelet_version}\nRoles: {', '.join(roles) or 'none'}"
    return Outcome(OK, summary, details)


__all__ = [
    "CRIT",
    "conditions",
    "cpu",
    "filesystem",
    "info",
    "kubelet",
    "memory_usage",
    "pod_capacity",
]
