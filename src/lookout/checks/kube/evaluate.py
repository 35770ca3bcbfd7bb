"""One evaluation of a cluster: which hosts exist and what every service says.

Pure: objects, usage, remembered values and the time in; host specs and outcomes out. The data
source turns host specs into host/service configuration and outcomes into check results.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from lookout.checks.kube import autoscaling as autoscale
from lookout.checks.kube import cluster as c
from lookout.checks.kube import events as warn_events
from lookout.checks.kube import namespace as ns_checks
from lookout.checks.kube import node as n
from lookout.checks.kube import pvc as pvc_checks
from lookout.checks.kube import rollout as ro
from lookout.checks.kube import workload as w
from lookout.checks.kube.api import OK, WARN, Outcome
from lookout.checks.kube.cluster import scheduled_pods
from lookout.checks.kube.memory import Memory
from lookout.checks.kube.naming import cluster_host, labels, namespace_host, node_host, object_host
from lookout.checks.kube.params import KubeParams, resolve
from lookout.checks.kube.pods import PodHealth, assess
from lookout.checks.kube.requests import Cache, Totals, totals
from lookout.checks.kube.sections import DaemonSet, Deployment, Event, Pod, StatefulSet
from lookout.checks.kube.view import (
    Certificate,
    Index,
    Objects,
    Usage,
    WorkloadKey,
    build_index,
    key,
    workloads,
)


class HostSpec(msgspec.Struct, frozen=True, gc=False):
    name: str
    kind: str
    labels: dict[str, str]
    parents: tuple[str, ...] = ()


@dataclass
class ClusterInput:
    """Everything one evaluation looks at."""

    name: str
    objects: Objects
    now: float
    usage: Usage = field(default_factory=Usage)
    server_version: str = ""
    health: dict[str, tuple[int | None, str]] = field(default_factory=dict)
    kubelets: dict[str, tuple[int | None, str]] = field(default_factory=dict)
    """Node → (status, text) of its kubelet's /healthz (through the node proxy)."""
    connected: bool = True
    error: str = ""
    denied: dict[str, str] = field(default_factory=dict)
    """Resource → why it may not be listed (RBAC)."""
    unserved: dict[str, str] = field(default_factory=dict)
    """Resource → the API server does not serve it (404)."""
    rejected: dict[str, str] = field(default_factory=dict)
    """``resource ns/name`` → why the object could not be read (skipped)."""
    last_event_age: float | None = None
    relists: int = 0
    params: Mapping[str, Any] = field(default_factory=dict)
    rules: Sequence[Mapping[str, Any]] = ()
    pod_hosts: Mapping[str, str] | None = None
    """Label selector (all must match) for pods that get their own host; None: no pod hosts."""
    events: dict[str, Any] = field(default_factory=dict)
    warnings: list[Event] | None = None
    """Warning events of the cluster (None: not read)."""
    api_cert: Certificate | None = None
    api_cert_error: str = ""
    kubelet_certs: dict[str, tuple[Certificate | None, str]] = field(default_factory=dict)
    """Node → its kubelet's serving certificate (None: not reachable, and why)."""


@dataclass
class Evaluation:
    hosts: list[HostSpec] = field(default_factory=list)
    outcomes: list[tuple[str, str, Outcome]] = field(default_factory=list)
    partial: bool = False
    """True when the objects are not a complete, current list (never delete hosts then)."""
    depends: dict[tuple[str, str], tuple[tuple[str, str], ...]] = field(default_factory=dict)
    """(host, service) → the services whose problem its problem follows from (the engine
    shows it with them and does not notify it alone: one cause pages once)."""

    def add(
        self,
        host: str,
        service: str,
        outcome: Outcome,
        depends_on: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.outcomes.append((host, service, outcome))
        if depends_on:
            self.depends[(host, service)] = depends_on


class _Params:
    """Resolves thresholds per host, cached by which rules match (few distinct answers)."""

    def __init__(self, base: Mapping[str, Any], rules: Sequence[Mapping[str, Any]]) -> None:
        self.base, self.rules = base, rules
        self.cache: dict[tuple[int, ...], KubeParams] = {}

    def __call__(self, host_labels: Mapping[str, str]) -> KubeParams:
        hits = tuple(
            i
            for i, r in enumerate(self.rules)
            if all(host_labels.get(k) == v for k, v in r.get("match", {}).items())
        )
        got = self.cache.get(hits)
        if got is None:
            got = self.cache[hits] = resolve(self.base, [self.rules[i] for i in hits], host_labels)
        return got


def evaluate(inp: ClusterInput, memory: Memory) -> Evaluation:
    ev = Evaluation()
    objs = inp.objects
    params = _Params(inp.params, inp.rules)
    idx = build_index(objs, inp.events)
    cache = Cache()
    ch = cluster_host(inp.name)
    cl_labels = labels(inp.name, "cluster")
    ev.hosts.append(HostSpec(ch, "cluster", cl_labels))
    scheduled = totals(scheduled_pods(list(objs.pods.values())), cache)
    _cluster(inp, ev, ch, params(cl_labels), scheduled)
    health = _pod_health(inp, idx, params)
    _nodes(inp, idx, ev, ch, params, memory, cache)
    pvc_owner = _pvc_owners(inp, idx)
    _namespaces(inp, idx, ev, ch, params, health, pvc_owner, memory)
    _workloads(inp, idx, ev, params, health, pvc_owner, memory, cache)
    if inp.pod_hosts is not None:
        _pods(inp, idx, ev, params, health, memory, cache)
    _autoscalers(inp, ev, params, memory)
    if inp.warnings is not None:
        _warning_events(inp, ev)
    memory.sweep()
    return ev


def offline(cluster: str, error: str) -> Evaluation:
    """What can be said without the API: it is not reachable, and why. Only the cluster host's
    services get results; the others go stale (UNKNOWN) instead of repeating old news."""
    ev = Evaluation(partial=True)
    host = cluster_host(cluster)
    ev.hosts.append(HostSpec(host, "cluster", labels(cluster, "cluster")))
    ev.add(host, "Kubernetes API", c.api_health({"/readyz": (None, error)}))
    ev.add(host, "Kubernetes monitor", c.heartbeat(False, error, 0, None, 0))
    return ev


def _cluster(inp: ClusterInput, ev: Evaluation, host: str, p: KubeParams, t: Totals) -> None:
    nodes = list(inp.objects.nodes.values())
    ev.add(host, "Kubernetes API", c.api_health(inp.health))
    ev.add(host, "Kubernetes version", c.version(inp.server_version, nodes))
    ev.add(host, "Nodes", c.node_count(nodes))
    ev.add(host, "CPU requests", c.overcommit("cpu", inp.objects, p, t.cpu_requests))
    ev.add(host, "Memory requests", c.overcommit("memory", inp.objects, p, t.memory_requests))
    ev.add(host, "Pods", c.pods(list(inp.objects.pods.values())))
    ev.add(
        host,
        "Kubernetes monitor",
        c.heartbeat(
            inp.connected,
            inp.error,
            inp.objects.count(),
            inp.last_event_age,
            inp.relists,
            inp.denied,
            inp.rejected,
            inp.unserved,
        ),
    )
    ev.add(
        host,
        "Persistent volumes",
        autoscale.persistent_volumes(list(inp.objects.persistentvolumes.values()), inp.now),
    )
    if inp.api_cert is not None or inp.api_cert_error:
        ev.add(
            host, "API certificate", c.api_certificate(inp.api_cert, inp.api_cert_error, inp.now, p)
        )
    if inp.usage.source or inp.usage.error:
        running = sum(1 for p in inp.objects.pods.values() if p.status.phase == "Running")
        ev.add(host, "Usage source", c.usage_source(inp.usage, len(nodes), running))


def _pod_health(inp: ClusterInput, idx: Index, params: _Params) -> dict[str, PodHealth]:
    """Every pod's verdict, with the thresholds of rules matching the pod's labels (namespace,
    its own labels as ``k8s/label/...``)."""
    p = params(labels(inp.name, "pod"))
    out = {}
    for k, pod in inp.objects.pods.items():
        owner = idx.workload_of_pod.get(k)
        if inp.rules:
            m = pod.metadata
            p = params(labels(inp.name, "pod", m.namespace, m.labels))
        out[k] = assess(
            pod,
            inp.now,
            p,
            idx.events.get(k),
            in_job=owner is not None and owner[0] in ("Job", "CronJob"),
        )
    return out


def _nodes(
    inp: ClusterInput,
    idx: Index,
    ev: Evaluation,
    parent: str,
    params: _Params,
    memory: Memory,
    cache: Cache,
) -> None:
    usage = inp.usage
    for name, node in inp.objects.nodes.items():
        host = node_host(inp.name, name)
        hl = labels(inp.name, "node", own=node.metadata.labels, node=name, name=name)
        ev.hosts.append(HostSpec(host, "node", hl, (parent,)))
        p = params(hl)
        pods = idx.by_node.get(name, [])
        nu = usage.nodes.get(name)
        requested = totals(scheduled_pods(pods), cache)
        ev.add(host, "Condition", n.conditions(node, p, memory, inp.now))
        kubelet = n.kubelet(
            node, inp.kubelets.get(name), usage.node_errors.get(name), nu is not None
        )
        cert = inp.kubelet_certs.get(name)
        if cert is not None:
            kubelet = n.with_certificate(kubelet, *cert, inp.now, p)
        # a healthy kubelet whose stats cannot be read is the usage source's problem, which
        # names every such node at once (a dead kubelet, CRIT, pages on its own)
        stats_only = name in usage.node_errors and kubelet.state == WARN
        ev.add(host, "Kubelet", kubelet, ((parent, "Usage source"),) if stats_only else ())
        ev.add(host, "CPU", n.cpu(node, requested.cpu_requests, nu, p))
        ev.add(host, "Memory", n.memory_usage(node, requested.memory_requests, nu, p))
        if usage.source == "kubelet":
            fs = n.filesystem(nu, p, usage.node_errors.get(name))
            ev.add(host, "Filesystem", fs, ((host, "Kubelet"),))
        ev.add(host, "Pods", n.pod_capacity(node, pods, p))
        ev.add(host, "Info", n.info(node))


def _pvc_owners(inp: ClusterInput, idx: Index) -> dict[str, WorkloadKey]:
    """PVC ``ns/name`` → the workload whose pods mount it (else it stays on the namespace)."""
    out: dict[str, WorkloadKey] = {}
    for k, pod in inp.objects.pods.items():
        owner = idx.workload_of_pod.get(k)
        if owner is None:
            continue
        for vol in pod.spec.volumes or ():
            if vol.persistent_volume_claim is not None:
                out.setdefault(
                    key(pod.metadata.namespace, vol.persistent_volume_claim.claim_name), owner
                )
    return out


def _namespaces(
    inp: ClusterInput,
    idx: Index,
    ev: Evaluation,
    parent: str,
    params: _Params,
    health: dict[str, PodHealth],
    pvc_owner: dict[str, WorkloadKey],
    memory: Memory,
) -> None:
    quotas = defaultdict(list)
    for q in inp.objects.resourcequotas.values():
        quotas[q.metadata.namespace].append(q)
    pvcs = defaultdict(list)
    for k, pvc in inp.objects.persistentvolumeclaims.items():
        if k not in pvc_owner:
            pvcs[pvc.metadata.namespace].append(pvc)
    # every namespace that holds something gets a host, listed or not (RBAC may hide the list)
    names = set(inp.objects.namespaces) | set(idx.by_namespace) | set(quotas) | set(pvcs)
    names |= {ns for _, ns, _ in workloads(inp.objects)} | {ns for _, ns, _ in idx.by_workload}
    for name in names:
        ns_obj = inp.objects.namespaces.get(name)
        host = namespace_host(inp.name, name)
        hl = labels(
            inp.name, "namespace", name, ns_obj.metadata.labels if ns_obj else None, name=name
        )
        ev.hosts.append(HostSpec(host, "namespace", hl, (parent,)))
        p = params(hl)
        pods = idx.by_namespace.get(name, [])
        ev.add(host, "Resource quota", ns_checks.quotas(quotas.get(name, []), p))
        ev.add(host, "Pods", ns_checks.pods(pods))
        ev.add(
            host,
            "Problem pods",
            ns_checks.problem_pods([health[key(name, x.metadata.name)] for x in pods]),
            _workload_causes(inp, idx, health, name, pods),
        )
        for pvc in pvcs.get(name, []):
            vk = key(name, pvc.metadata.name)
            ev.add(
                host,
                f"PVC {pvc.metadata.name}",
                pvc_checks.check(pvc, inp.usage.volumes.get(vk), memory, inp.now, p),
            )


MAX_CAUSES = 20
"""Services one service may depend on (the engine's limit)."""


def _workload_causes(
    inp: ClusterInput, idx: Index, health: dict[str, PodHealth], ns: str, pods: list[Pod]
) -> tuple[tuple[str, str], ...]:
    """The workloads' Pods services that judge the namespace's problem pods: Problem pods
    follows from them. None when a problem pod belongs to no workload (then the namespace's
    service is the only one to say it) or when there are more than the engine allows."""
    causes: set[tuple[str, str]] = set()
    for pod in pods:
        k = key(ns, pod.metadata.name)
        if health[k].state == OK:
            continue
        owner = idx.workload_of_pod.get(k)
        if owner is None:
            return ()
        causes.add((object_host(inp.name, *owner), "Pods"))
    return tuple(sorted(causes)) if len(causes) <= MAX_CAUSES else ()


def _workloads(
    inp: ClusterInput,
    idx: Index,
    ev: Evaluation,
    params: _Params,
    health: dict[str, PodHealth],
    pvc_owner: dict[str, WorkloadKey],
    memory: Memory,
    cache: Cache,
) -> None:
    pvcs_of: dict[WorkloadKey, list[str]] = defaultdict(list)
    for pk, owner in pvc_owner.items():
        pvcs_of[owner].append(pk)
    have_usage = bool(inp.usage.source) and not inp.usage.error
    listed = workloads(inp.objects)
    # Workloads known only from their pods' owner references (not listed: RBAC, a lag): their
    # pods still get a home, with the pod services only.
    inferred: dict[WorkloadKey, object] = dict.fromkeys(
        k for k in idx.by_workload if k not in listed
    )
    for wk, obj in {**listed, **inferred}.items():
        kind, ns, name = wk
        host = object_host(inp.name, kind, ns, name)
        own = obj.metadata.labels if obj is not None else None  # type: ignore[attr-defined]
        hl = labels(inp.name, kind.lower(), ns, own, name=name, workload=name)
        ev.hosts.append(HostSpec(host, kind.lower(), hl, (namespace_host(inp.name, ns),)))
        p = params(hl)
        mkey = f"{kind}/{ns}/{name}"
        pods = idx.by_workload.get(wk, [])
        ph = [health[key(ns, x.metadata.name)] for x in pods]
        if isinstance(obj, Deployment | StatefulSet | DaemonSet):
            pods_svc = ((host, "Pods"),)
            ev.add(host, "Replicas", w.replicas(obj, mkey, memory, inp.now, p), pods_svc)
            rollout = _rollout(obj, idx, wk, pods, ph, mkey, memory, inp.now, p)
            ev.add(host, "Rollout", rollout, pods_svc)
        elif obj is None:
            pass
        elif kind == "CronJob":
            ev.add(host, "CronJob", w.cronjob(obj, idx.jobs_by_cronjob.get(wk, []), inp.now, p))  # type: ignore[arg-type]
        else:
            ev.add(host, "Job", w.job(obj, inp.now, p))  # type: ignore[arg-type]
        ev.add(host, "Pods", w.pods(kind, pods, ph))
        ev.add(host, "Restarts", w.restarts(pods, ph, mkey, memory, inp.now, p), ((host, "Pods"),))
        t = totals((x for x in pods if x.status.phase == "Running"), cache, inp.usage.pods)
        ev.add(host, "CPU", w.resource("cpu", t, have_usage, p))
        ev.add(host, "Memory", w.resource("memory", t, have_usage, p))
        for pk in pvcs_of.get(wk, []):
            pvc = inp.objects.persistentvolumeclaims.get(pk)
            if pvc is not None:
                ev.add(
                    host,
                    f"PVC {pvc.metadata.name}",
                    pvc_checks.check(pvc, inp.usage.volumes.get(pk), memory, inp.now, p),
                )


def _autoscalers(inp: ClusterInput, ev: Evaluation, params: _Params, memory: Memory) -> None:
    """Autoscalers on the workload they scale (else their namespace), budgets on their
    namespace."""
    have = {h.name for h in ev.hosts}
    for h in inp.objects.horizontalpodautoscalers.values():
        m, ref = h.metadata, h.spec.scale_target_ref
        host = object_host(inp.name, ref.kind, m.namespace, ref.name)
        if host not in have:
            host = _namespace_of(inp, ev, have, m.namespace)
        p = params(labels(inp.name, "hpa", m.namespace, m.labels))
        ev.add(host, f"HPA {m.name}", autoscale.hpa(h, memory, inp.now, p))
    for b in inp.objects.poddisruptionbudgets.values():
        m = b.metadata
        host = _namespace_of(inp, ev, have, m.namespace)
        p = params(labels(inp.name, "pdb", m.namespace, m.labels))
        ev.add(host, f"PDB {m.name}", autoscale.pdb(b, memory, inp.now, p))


def _namespace_of(inp: ClusterInput, ev: Evaluation, have: set[str], namespace: str) -> str:
    """The namespace's host, made if nothing else in the namespace made it."""
    host = namespace_host(inp.name, namespace)
    if host not in have:
        hl = labels(inp.name, "namespace", namespace, name=namespace)
        ev.hosts.append(HostSpec(host, "namespace", hl, (cluster_host(inp.name),)))
        have.add(host)
    return host


def _warning_events(inp: ClusterInput, ev: Evaluation) -> None:
    """Recent Warning events, summarised per object on the namespace's host (the node's for
    Node events, the cluster's for other cluster-scoped objects)."""
    cluster = cluster_host(inp.name)
    by_host: dict[str, list[Event]] = defaultdict(list)
    for e in warn_events.recent(inp.warnings or (), inp.now):
        ref = e.involved_object
        ns = e.metadata.namespace or ref.namespace
        if ref.kind == "Node" and ref.name in inp.objects.nodes:
            by_host[node_host(inp.name, ref.name)].append(e)
        elif ns:
            by_host[namespace_host(inp.name, ns)].append(e)
        else:
            by_host[cluster].append(e)
    for spec in ev.hosts:
        if spec.kind in ("cluster", "node", "namespace"):
            ev.add(spec.name, "Warning events", warn_events.summary(by_host.get(spec.name, [])))


def _rollout(
    obj: Deployment | StatefulSet | DaemonSet,
    idx: Index,
    wk: WorkloadKey,
    pods: list[Pod],
    ph: list[PodHealth],
    mkey: str,
    memory: Memory,
    now: float,
    p: KubeParams,
) -> Outcome:
    both = list(zip(pods, ph, strict=True))
    if isinstance(obj, Deployment):
        rs = idx.replicasets_by_deployment.get(wk, [])
        return ro.deployment(obj, rs, both, mkey, memory, now, p)
    if isinstance(obj, StatefulSet):
        return ro.statefulset(obj, both, mkey, memory, now, p)
    return ro.daemonset(obj, both, mkey, memory, now, p)


def _matches(pod: Pod, selector: Mapping[str, str]) -> bool:
    own = pod.metadata.labels or {}
    return all(own.get(k) == v for k, v in selector.items())


def _pods(
    inp: ClusterInput,
    idx: Index,
    ev: Evaluation,
    params: _Params,
    health: dict[str, PodHealth],
    memory: Memory,
    cache: Cache,
) -> None:
    selector = inp.pod_hosts or {}
    have_usage = bool(inp.usage.source) and not inp.usage.error
    for k, pod in inp.objects.pods.items():
        if not _matches(pod, selector):
            continue
        meta = pod.metadata
        owner = idx.workload_of_pod.get(k)
        parent = (
            object_host(inp.name, *owner) if owner else namespace_host(inp.name, meta.namespace)
        )
        host = object_host(inp.name, "pod", meta.namespace, meta.name)
        extra = {"node": pod.spec.node_name, "name": meta.name}
        if owner:
            extra["workload"] = owner[2]
        hl = labels(inp.name, "pod", meta.namespace, meta.labels, **extra)
        ev.hosts.append(HostSpec(host, "pod", hl, (parent,)))
        p = params(hl)
        h = health[k]
        ev.add(host, "Status", Outcome(h.state, h.problem or f"{h.phase}", ""))
        restarts = w.restarts([pod], [h], f"pod/{k}", memory, inp.now, p)
        ev.add(host, "Restarts", restarts, ((host, "Status"),))
        t = totals([pod] if pod.status.phase == "Running" else [], cache, inp.usage.pods)
        ev.add(host, "CPU", w.resource("cpu", t, have_usage, p))
        ev.add(host, "Memory", w.resource("memory", t, have_usage, p))
