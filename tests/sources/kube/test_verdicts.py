"""Issue 15's cases end to end: objects written from the Kubernetes API reference (and the
recorded clusters where they show the case), served by the local API server, listed by the real
monitor, evaluated; each case asserts state and summary."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from kubeapi import KubeApi
from kubedata import feed_troubleshoot, need_fixtures
from test_monitor import evaluate, outcome

from lookout.checks.kube.api import CRIT, OK, WARN
from lookout.sources.kube.credentials import Credentials

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC).timestamp()
REVISION = "deployment.kubernetes.io/revision"


def ago(seconds: float) -> str:
    return dt.datetime.fromtimestamp(NOW - seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _owner(kind: str, name: str) -> list[dict[str, Any]]:
    return [{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": name, "controller": True}]


def _pod(name: str, rs: str, *, ready: bool, since: float, **container: Any) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "labels": {"app": "web", "pod-template-hash": rs.rsplit("-", 1)[1]},
            "ownerReferences": _owner("ReplicaSet", rs),
        },
        "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "web:9"}]},
        "status": {
            "phase": "Running",
            "startTime": ago(since),
            "conditions": [
                {"type": "PodScheduled", "status": "True"},
                {
                    "type": "Ready",
                    "status": "True" if ready else "False",
                    "lastTransitionTime": ago(since),
                },
            ],
            "containerStatuses": [{"name": "app", "ready": ready, "restartCount": 0, **container}],
        },
    }


def _replicaset(name: str, revision: str, replicas: int, ready: int, age: float) -> dict[str, Any]:
    return {
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "creationTimestamp": ago(age),
            "annotations": {REVISION: revision},
            "ownerReferences": _owner("Deployment", "web"),
        },
        "spec": {"replicas": replicas},
        "status": {"replicas": replicas, "readyReplicas": ready, "availableReplicas": ready},
    }


def feed_stuck_rollout(api: KubeApi) -> None:
    """A Deployment at generation 8 whose new ReplicaSet's pod has been unready for almost two
    hours while the old pod still serves (the case issue 15 was filed for)."""
    api.add(
        {
            "kind": "Deployment",
            "metadata": {
                "name": "web",
                "namespace": "shop",
                "generation": 8,
                "annotations": {REVISION: "9"},
            },
            "spec": {"replicas": 1, "progressDeadlineSeconds": 600},
            "status": {
                "observedGeneration": 8,
                "replicas": 2,
                "updatedReplicas": 1,
                "readyReplicas": 1,
                "availableReplicas": 1,
                "unavailableReplicas": 1,
                "conditions": [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                    {
                        "type": "Progressing",
                        "status": "True",
                        "reason": "ReplicaSetUpdated",
                        "lastUpdateTime": ago(6700),
                        "lastTransitionTime": ago(900_000),
                    },
                ],
            },
        }
    )
    api.add(_replicaset("web-5d9f8c", "9", 1, 0, 6720))
    api.add(_replicaset("web-77aa41", "8", 1, 1, 900_000))
    api.add(_pod("web-5d9f8c-x2xq", "web-5d9f8c", ready=False, since=6700))
    api.add(_pod("web-77aa41-k1zz", "web-77aa41", ready=True, since=900_000))


async def test_stuck_rollout_is_crit_and_named(api: KubeApi, creds: Credentials) -> None:
    feed_stuck_rollout(api)
    _, ev = await evaluate(creds, now=NOW, usage="none")
    host = "k8s:lab:deployment:shop:web"
    got = outcome(ev, host, "Rollout")
    assert (got.state, got.summary) == (
        CRIT,
        "rollout of web-5d9f8c (revision 9) stuck: no progress for 1h 51m (deadline 10m) (!!); "
        "1 old replica still running; 0 of 1 new pods ready; "
        "not ready: web-5d9f8c-x2xq (Running, not ready for 1h 51m)",
    )
    replicas = outcome(ev, host, "Replicas")
    assert (replicas.state, replicas.summary) == (OK, "1/1 ready, 1 available, 1 up to date")


async def test_recorded_surplus_pod_after_a_complete_rollout(
    api: KubeApi, creds: Credentials
) -> None:
    """Recorded (troubleshoot): generation 1, two pods for one desired, the controller says
    the new ReplicaSet is available. kubectl would wait for '1 old replica'; there is no older
    ReplicaSet and no progress deadline runs, so it is not a stuck rollout at first look."""
    need_fixtures()
    feed_troubleshoot(api)
    now = dt.datetime(2019, 11, 7, 1, 0, tzinfo=dt.UTC).timestamp()
    _, ev = await evaluate(creds, now=now, usage="none")
    got = outcome(ev, "k8s:lab:deployment:default:kotsadm-web", "Rollout")
    assert (got.state, got.summary) == (
        OK,
        "rollout of generation 1 (revision 1) in progress for 0s: 1 old replica still running",
    )


async def test_restarts_before_the_first_look_are_counted(api: KubeApi, creds: Credentials) -> None:
    """A container that restarted 3 times since its pod started a minute ago: 3 in the last
    hour at the first look, not 0; a long-running pod whose last crash was 2 minutes ago
    counts that one."""
    crash = {
        "restartCount": 3,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(20)}},
    }
    api.add(
        {
            "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "shop", "generation": 1},
            "spec": {"replicas": 2},
            "status": {"observedGeneration": 1, "replicas": 2, "readyReplicas": 1},
        }
    )
    young = _pod("db-0", "x-y", ready=False, since=60, **crash)
    old = _pod("db-1", "x-y", ready=True, since=86400, **{**crash, "restartCount": 12})
    old["status"]["containerStatuses"][0]["state"] = {"running": {"startedAt": ago(110)}}
    old["status"]["containerStatuses"][0]["lastState"]["terminated"]["finishedAt"] = ago(120)
    for p in (young, old):
        p["metadata"]["ownerReferences"] = _owner("StatefulSet", "db")
        api.add(p)
    _, ev = await evaluate(creds, now=NOW, usage="none")
    got = outcome(ev, "k8s:lab:statefulset:shop:db", "Restarts")
    assert (got.state, got.summary) == (WARN, "4 in the last hour (!), 15 in total")


def _node(name: str) -> dict[str, Any]:
    return {
        "kind": "Node",
        "metadata": {"name": name},
        "status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "nodeInfo": {"kubeletVersion": "v1.35.0"},
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
        },
    }


def _stats(node: str) -> dict[str, Any]:
    return {
        "node": {
            "nodeName": node,
            "cpu": {"usageNanoCores": 250_000_000},
            "memory": {"workingSetBytes": 2**30},
            "fs": {"usedBytes": 10 * 2**30, "capacityBytes": 100 * 2**30},
        },
        "pods": [],
    }


async def test_a_usage_source_that_reads_nothing_is_crit(api: KubeApi, creds: Credentials) -> None:
    """Kubelets healthy, their stats unreadable: the usage source reads nothing (CRIT, not
    "OK 0 pods, 0 nodes"); the Kubelet carries the cause (WARN) and Filesystem names it."""
    api.add(_node("n1"))
    api.stats["n1"] = _stats("n1")
    stats = "/api/v1/nodes/n1/proxy/stats/summary"
    api.fail[stats] = 500
    _, ev = await evaluate(creds, now=NOW)
    error = f"GET {stats}: 500 InternalError: injected 500"
    src = outcome(ev, "k8s:lab", "Usage source")
    assert (src.state, src.summary) == (
        CRIT,
        f"kubelet read nothing (0 pods, 0 nodes of 1 nodes in the cluster); first error: n1: "
        f"{error}",
    )
    kubelet = outcome(ev, "k8s:lab:node:n1", "Kubelet")
    assert (kubelet.state, kubelet.summary) == (
        WARN,
        f"kubelet v1.35.0 healthy, stats not readable: {error}",
    )
    fs = outcome(ev, "k8s:lab:node:n1", "Filesystem")
    assert (fs.state, fs.summary) == (
        3,
        f"no filesystem data: depends on Kubelet (stats not readable: {error})",
    )


async def test_a_usage_source_that_reads_some_nodes_warns(api: KubeApi, creds: Credentials) -> None:
    for name in ("n1", "n2"):
        api.add(_node(name))
        api.stats[name] = _stats(name)
    api.fail["/api/v1/nodes/n2/proxy/stats/summary"] = 500
    _, ev = await evaluate(creds, now=NOW)
    src = outcome(ev, "k8s:lab", "Usage source")
    assert (src.state, src.summary) == (
        WARN,
        "kubelet: 0 pods, 1 nodes; stats of 1 of 2 nodes not readable: n2",
    )
    fs = outcome(ev, "k8s:lab:node:n1", "Filesystem")
    assert (fs.state, fs.summary) == (OK, "used 10.0 GiB of 100.0 GiB (10.0%)")
