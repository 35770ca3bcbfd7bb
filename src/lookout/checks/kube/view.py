"""The objects of one cluster as the checks see them, plus the indexes the checks need
(pods per workload, node and namespace), built once per evaluation."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import msgspec

from lookout.checks.kube.sections import (
    CronJob,
    DaemonSet,
    Deployment,
    Event,
    HorizontalPodAutoscaler,
    Job,
    Namespace,
    Node,
    PersistentVolume,
    PersistentVolumeClaim,
    Pod,
    PodDisruptionBudget,
    ReplicaSet,
    ResourceQuota,
    StatefulSet,
)

WorkloadKey = tuple[str, str, str]
"""(kind, namespace, name) of a workload: Deployment, StatefulSet, DaemonSet, CronJob, Job."""
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job")


def key(namespace: str, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


@dataclass
class Objects:
    """The current objects of a cluster, keyed by ``namespace/name`` (or name)."""

    nodes: dict[str, Node] = field(default_factory=dict)
    namespaces: dict[str, Namespace] = field(default_factory=dict)
    pods: dict[str, Pod] = field(default_factory=dict)
    resourcequotas: dict[str, ResourceQuota] = field(default_factory=dict)
    persistentvolumeclaims: dict[str, PersistentVolumeClaim] = field(default_factory=dict)
    deployments: dict[str, Deployment] = field(default_factory=dict)
    statefulsets: dict[str, StatefulSet] = field(default_factory=dict)
    daemonsets: dict[str, DaemonSet] = field(default_factory=dict)
    replicasets: dict[str, ReplicaSet] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    cronjobs: dict[str, CronJob] = field(default_factory=dict)
    horizontalpodautoscalers: dict[str, HorizontalPodAutoscaler] = field(default_factory=dict)
    poddisruptionbudgets: dict[str, PodDisruptionBudget] = field(default_factory=dict)
    persistentvolumes: dict[str, PersistentVolume] = field(default_factory=dict)

    def count(self) -> int:
        return sum(len(v) for v in vars(self).values())


class NodeUsage(msgspec.Struct, frozen=True):
    cpu: float | None = None
    """Cores in use."""
    memory: float | None = None
    """Working set bytes."""
    fs_used: float | None = None
    fs_capacity: float | None = None


class VolumeUsage(msgspec.Struct, frozen=True):
    used: float
    capacity: float
    available: float


class Certificate(msgspec.Struct, frozen=True):
    """A serving certificate read from a TLS handshake."""

    subject: str
    issuer: str
    not_after: float
    """Expiry, epoch seconds."""


class Usage(msgspec.Struct):
    """Measured usage from kubelet stats or Prometheus (empty when no usage source)."""

    source: str = ""
    pods: dict[str, tuple[float | None, float | None]] = msgspec.field(default_factory=dict)
    """``ns/pod`` → (CPU cores, memory working set bytes)."""
    nodes: dict[str, NodeUsage] = msgspec.field(default_factory=dict)
    volumes: dict[str, VolumeUsage] = msgspec.field(default_factory=dict)
    """``ns/pvc`` → usage."""
    node_errors: dict[str, str] = msgspec.field(default_factory=dict)
    """Node → why its kubelet could not be read."""
    error: str = ""
    """Why the usage source as a whole failed, if it did."""


def workload_of(pod: Pod, objs: Objects) -> WorkloadKey | None:
    """The workload a pod belongs to (ReplicaSets and Jobs resolved to their owners), or None
    for a bare pod or one owned by something else (e.g. a static pod's Node)."""
    meta = pod.metadata
    owner = meta.controller()
    if owner is None:
        return None
    ns = meta.namespace
    if owner.kind == "ReplicaSet":
        return _replicaset_owner(pod, owner.name, objs)
    if owner.kind == "Job":
        return _job_owner(ns, owner.name, objs)
    if owner.kind in ("StatefulSet", "DaemonSet", "Deployment", "CronJob"):
        return (owner.kind, ns, owner.name)
    return None


def _replicaset_owner(pod: Pod, rs_name: str, objs: Objects) -> WorkloadKey | None:
    ns = pod.metadata.namespace
    rs = objs.replicasets.get(key(ns, rs_name))
    if rs is not None:
        up = rs.metadata.controller()
        return ("Deployment", ns, up.name) if up is not None and up.kind == "Deployment" else None
    # ReplicaSet not (yet) seen: Deployments name their ReplicaSets <deployment>-<template hash>.
    digest = (pod.metadata.labels or {}).get("pod-template-hash", "")
    if digest and rs_name.endswith("-" + digest):
        return ("Deployment", ns, rs_name[: -len(digest) - 1])
    return None


def _job_owner(ns: str, job_name: str, objs: Objects) -> WorkloadKey:
    job = objs.jobs.get(key(ns, job_name))
    if job is not None:
        up = job.metadata.controller()
        if up is not None and up.kind == "CronJob":
            return ("CronJob", ns, up.name)
        return ("Job", ns, job_name)
    base, _, suffix = job_name.rpartition("-")
    if suffix.isdigit() and key(ns, base) in objs.cronjobs:
        return ("CronJob", ns, base)
    return ("Job", ns, job_name)


def workloads(objs: Objects) -> dict[WorkloadKey, object]:
    """Every workload object by key (Jobs owned by a CronJob are part of the CronJob)."""
    out: dict[WorkloadKey, object] = {}
    for kind, table in (
        ("Deployment", objs.deployments),
        ("StatefulSet", objs.statefulsets),
        ("DaemonSet", objs.daemonsets),
        ("CronJob", objs.cronjobs),
    ):
        for obj in table.values():
            m = obj.metadata
            out[(kind, m.namespace, m.name)] = obj
    for job in objs.jobs.values():
        up = job.metadata.controller()
        if up is None or up.kind != "CronJob":
            out[("Job", job.metadata.namespace, job.metadata.name)] = job
    return out


@dataclass
class Index:
    """Pods grouped the ways the checks need them."""

    by_workload: dict[WorkloadKey, list[Pod]]
    by_node: dict[str, list[Pod]]
    by_namespace: dict[str, list[Pod]]
    workload_of_pod: dict[str, WorkloadKey | None]
    jobs_by_cronjob: dict[WorkloadKey, list[Job]]
    replicasets_by_deployment: dict[WorkloadKey, list[ReplicaSet]]
    events: dict[str, Event]
    """``ns/pod`` → its latest Warning event (only fetched for problem pods)."""


def build_index(objs: Objects, events: dict[str, Event] | None = None) -> Index:
    by_workload: dict[WorkloadKey, list[Pod]] = defaultdict(list)
    by_node: dict[str, list[Pod]] = defaultdict(list)
    by_ns: dict[str, list[Pod]] = defaultdict(list)
    owner_of: dict[str, WorkloadKey | None] = {}
    for k, pod in objs.pods.items():
        wk = workload_of(pod, objs)
        owner_of[k] = wk
        if wk is not None:
            by_workload[wk].append(pod)
        if pod.spec.node_name:
            by_node[pod.spec.node_name].append(pod)
        by_ns[pod.metadata.namespace].append(pod)
    jobs_by_cj: dict[WorkloadKey, list[Job]] = defaultdict(list)
    for job in objs.jobs.values():
        up = job.metadata.controller()
        if up is not None and up.kind == "CronJob":
            jobs_by_cj[("CronJob", job.metadata.namespace, up.name)].append(job)
    rs_by_deployment: dict[WorkloadKey, list[ReplicaSet]] = defaultdict(list)
    for rs in objs.replicasets.values():
        up = rs.metadata.controller()
        if up is not None and up.kind == "Deployment":
            rs_by_deployment[("Deployment", rs.metadata.namespace, up.name)].append(rs)
    return Index(by_workload, by_node, by_ns, owner_of, jobs_by_cj, rs_by_deployment, events or {})
