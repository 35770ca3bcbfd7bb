"""Workload, node, namespace, PVC and cluster checks on small, explicit objects."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from lookout.checks.kube import cluster, namespace, node, pvc, workload
from lookout.checks.kube.api import CRIT, OK, UNKNOWN, WARN
from lookout.checks.kube.memory import Memory
from lookout.checks.kube.params import DEFAULT, KubeParams
from lookout.checks.kube.requests import Cache, totals
from lookout.checks.kube.sections import (
    CronJob,
    Deployment,
    Job,
    Node,
    PersistentVolumeClaim,
    Pod,
    ResourceQuota,
)
from lookout.checks.kube.view import NodeUsage, Objects, VolumeUsage


def conv(kind: type[Any], data: dict[str, Any]) -> Any:
    return msgspec.convert(data, kind, strict=False)


def test_replicas_short_only_after_grace() -> None:
    d = conv(
        Deployment,
        {
            "metadata": {"name": "web"},
            "spec": {"replicas": 3},
            "status": {"readyReplicas": 2, "availableReplicas": 2, "updatedReplicas": 3},
        },
    )
    m = Memory()
    assert workload.replicas(d, "d", m, 0, DEFAULT).state == OK
    assert workload.replicas(d, "d", m, 400, DEFAULT).state == WARN
    late = workload.replicas(d, "d", m, 1000, DEFAULT)
    assert late.state == CRIT
    assert late.summary == "2/3 ready, 2 available, 3 up to date, short for 16m (!!)"
    whole = conv(
        Deployment,
        {
            "spec": {"replicas": 3},
            "status": {"readyReplicas": 3, "availableReplicas": 3, "updatedReplicas": 3},
        },
    )
    assert workload.replicas(whole, "d", m, 1100, DEFAULT).state == OK
    assert workload.replicas(d, "d", m, 1200, DEFAULT).state == OK  # the grace starts again


def test_jobs_and_cronjobs() -> None:
    failed = conv(
        Job,
        {
            "metadata": {"name": "j-1"},
            "status": {
                "failed": 3,
                "startTime": "2026-01-01T00:00:00Z",
                "conditions": [
                    {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}
                ],
            },
        },
    )
    assert workload.job(failed, 0, DEFAULT).state == CRIT
    running = conv(Job, {"status": {"active": 1, "startTime": "1970-01-01T00:00:00Z"}})
    assert workload.job(running, 13 * 3600, DEFAULT).state == WARN
    assert workload.job(running, 25 * 3600, DEFAULT).state == CRIT
    cj = conv(
        CronJob,
        {
            "spec": {"schedule": "*/5 * * * *", "suspend": True},
            "status": {"lastSuccessfulTime": "1970-01-01T00:00:00Z"},
        },
    )
    out = workload.cronjob(cj, [failed], 3600, KubeParams(cronjob_success_age=(600.0, 1800.0)))
    assert out.state == CRIT
    assert "latest job j-1 failed" in out.summary
    assert "suspended" in out.summary
    assert "last success 1h 0m ago" in out.summary


def _pod(
    name: str, node_name: str, cpu: str, mem: str, limit: str | None = None, phase: str = "Running"
) -> Pod:
    res: dict[str, Any] = {"requests": {"cpu": cpu, "memory": mem}}
    if limit:
        res["limits"] = {"memory": limit}
    return conv(
        Pod,
        {
            "metadata": {"name": name, "namespace": "n"},
            "spec": {"nodeName": node_name, "containers": [{"name": "c", "resources": res}]},
            "status": {"phase": phase},
        },
    )


def _node(name: str, cpu: str, mem: str, ready: str = "True", **extra: Any) -> Node:
    return conv(
        Node,
        {
            "metadata": {"name": name},
            "spec": extra,
            "status": {
                "allocatable": {"cpu": cpu, "memory": mem, "pods": "10"},
                "capacity": {"cpu": cpu, "memory": mem, "pods": "10"},
                "conditions": [{"type": "Ready", "status": ready}],
            },
        },
    )


def test_overcommit_cannot_lose_the_largest_node() -> None:
    objs = Objects(nodes={"a": _node("a", "4", "8Gi"), "b": _node("b", "4", "8Gi")})
    objs.pods = {f"n/p{i}": _pod(f"p{i}", "a", "1", "1Gi") for i in range(5)}
    t = totals(cluster.scheduled_pods(list(objs.pods.values())), Cache())
    out = cluster.overcommit("cpu", objs, DEFAULT, t.cpu_requests)
    assert out.state == WARN
    assert out.summary.endswith("cannot tolerate losing the largest node")
    objs.pods.update({f"n/q{i}": _pod(f"q{i}", "b", "1", "1Gi") for i in range(4)})
    t = totals(cluster.scheduled_pods(list(objs.pods.values())), Cache())
    assert cluster.overcommit("cpu", objs, DEFAULT, t.cpu_requests).state == CRIT
    assert cluster.overcommit("memory", objs, DEFAULT, t.memory_requests).state == WARN


def test_memory_vs_limits_with_usage() -> None:
    pods = [
        _pod("p1", "a", "100m", "100Mi", limit="200Mi"),
        _pod("p2", "a", "100m", "100Mi", limit="200Mi"),
    ]
    usage = {"n/p1": (0.05, 190 * 2**20), "n/p2": (0.05, 190 * 2**20)}
    out = workload.resource("memory", totals(pods, Cache(), usage), True, DEFAULT)
    assert out.state == CRIT  # 95 % of the limits: the OOM killer is close
    assert out.summary == "usage 380.0 MiB, 190.0% of requests, 95.0% of limits (!!)"
    assert {m.name for m in out.metrics} == {
        "kube_memory",
        "kube_memory_requests",
        "kube_memory_limits",
        "kube_memory_request_util",
        "kube_memory_limit_util",
    }
    unbounded = workload.resource("cpu", totals(pods, Cache(), usage), True, DEFAULT)
    assert "limits" not in unbounded.summary
    assert unbounded.state == OK


def test_node_services() -> None:
    n = _node(
        "a", "4", "8Gi", taints=[{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}]
    )
    m = Memory()
    out = node.conditions(n, DEFAULT, m, 0)
    assert out.state == CRIT
    assert "unreachable taint" in out.summary
    flapping = [
        node.conditions(_node("b", "4", "8Gi", ready=r), DEFAULT, m, t * 60)
        for t, r in enumerate(["True", "False", "True", "False"])
    ]
    assert flapping[-1].state == CRIT
    assert "readiness flapping (3 changes in 15m)" in flapping[-1].summary
    fs = node.filesystem(NodeUsage(fs_used=95, fs_capacity=100), DEFAULT)
    assert fs.state == CRIT
    assert node.filesystem(None, DEFAULT).state == UNKNOWN
    pods = [_pod(f"p{i}", "a", "1", "1Gi") for i in range(10)]
    assert node.pod_capacity(n, pods, DEFAULT).state == CRIT
    cpu = node.cpu(n, 2.0, NodeUsage(cpu=3.9), DEFAULT)
    assert cpu.state == CRIT
    assert cpu.summary.startswith("usage 3.9 of 4 allocatable (97.5%)")


def test_quotas() -> None:
    q = conv(
        ResourceQuota,
        {
            "metadata": {"name": "team"},
            "status": {
                "hard": {"pods": "10", "requests.cpu": "4", "requests.memory": "8Gi"},
                "used": {"pods": "9", "requests.cpu": "4", "requests.memory": "9Gi"},
            },
        },
    )
    out = namespace.quotas([q], DEFAULT)
    assert out.state == CRIT
    assert (
        out.summary == "team pods almost full (90%), team requests.cpu full (100%), "
        "team requests.memory exceeded (112%)"
    )


def test_pvc_phases_and_trend() -> None:
    lost = conv(PersistentVolumeClaim, {"spec": {"volumeName": "pv1"}, "status": {"phase": "Lost"}})
    assert pvc.check(lost, None, Memory(), 0, DEFAULT).state == CRIT
    bound = conv(
        PersistentVolumeClaim,
        {
            "metadata": {"name": "data", "namespace": "n"},
            "spec": {"volumeName": "pv1"},
            "status": {"phase": "Bound", "capacity": {"storage": "100Gi"}},
        },
    )
    m = Memory()
    gib = 2**30
    out = None
    for hour in range(7):
        used = (80 + hour) * gib
        out = pvc.check(
            bound,
            VolumeUsage(used=used, capacity=100 * gib, available=100 * gib - used),
            m,
            hour * 3600.0,
            DEFAULT,
        )
    assert out is not None
    assert out.state == WARN
    assert "full in 14h 0m (!)" in out.summary
    assert {x.name for x in out.metrics} >= {
        "fs_used",
        "fs_used_percent",
        "fs_free",
        "fs_time_until_full",
    }


@pytest.mark.parametrize(
    ("server", "kubelets", "state"),
    [
        ("v1.35.0", ["v1.35.0", "v1.35.0"], OK),
        ("v1.35.0", ["v1.34.2", "v1.35.0"], WARN),
        ("v1.35.0", ["v1.31.0"], CRIT),
        ("v1.33.1", ["v1.34.0"], CRIT),
        ("garbage", ["v1.34.0"], UNKNOWN),
    ],
)
def test_version_skew(server: str, kubelets: list[str], state: int) -> None:
    nodes = [conv(Node, {"status": {"nodeInfo": {"kubeletVersion": v}}}) for v in kubelets]
    assert cluster.version(server, nodes).state == state


def test_rules_reach_pods_by_namespace_and_labels() -> None:
    from lookout.checks.kube.evaluate import ClusterInput, evaluate

    pending = conv(
        Pod,
        {
            "metadata": {
                "name": "p",
                "namespace": "batch",
                "labels": {"tier": "low"},
                "creationTimestamp": "1970-01-01T00:00:00Z",
            },
            "status": {"phase": "Pending"},
        },
    )
    objs = Objects(pods={"batch/p": pending})
    rules = [
        {
            "match": {"k8s/namespace": "batch", "k8s/label/tier": "low"},
            "params": {"pending_levels": [7200, 86400]},
        }
    ]
    plain = evaluate(ClusterInput("c", objs, 3600.0), Memory())
    ruled = evaluate(ClusterInput("c", objs, 3600.0, rules=rules), Memory())
    pick = lambda ev: next(o for h, s, o in ev.outcomes if s == "Problem pods")  # noqa: E731
    assert pick(plain).state == CRIT
    assert pick(ruled).state == OK


@pytest.mark.parametrize(
    ("health", "stats_error", "state", "summary"),
    [
        ((200, "ok"), None, OK, "kubelet v1.35.0 healthy, stats read"),
        (
            (503, "ServiceUnavailable: no route"),
            None,
            CRIT,
            "kubelet v1.35.0 /healthz: 503 ServiceUnavailable: no route",
        ),
        ((None, "timed out"), None, CRIT, "kubelet v1.35.0 /healthz: no answer timed out"),
        (
            (200, "ok"),
            "403 Forbidden",
            WARN,
            "kubelet v1.35.0 healthy, stats not readable: 403 Forbidden",
        ),
        (None, "timed out", CRIT, "kubelet v1.35.0 did not answer: timed out"),
    ],
)
def test_kubelet(health: Any, stats_error: str | None, state: int, summary: str) -> None:
    n = conv(
        Node,
        {
            "status": {
                "nodeInfo": {"kubeletVersion": "v1.35.0"},
                "conditions": [{"type": "Ready", "status": "True"}],
            }
        },
    )
    out = node.kubelet(n, health, stats_error, stats_error is None)
    assert (out.state, out.summary) == (state, summary)
