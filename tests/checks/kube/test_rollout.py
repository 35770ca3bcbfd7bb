"""Rollouts judged like ``kubectl rollout status`` and kubernetes-mixin, on objects written from
the Kubernetes API reference (apps/v1 Deployment, ReplicaSet, StatefulSet, DaemonSet)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from lookout.checks.kube import rollout
from lookout.checks.kube.api import CRIT, OK, WARN
from lookout.checks.kube.memory import Memory
from lookout.checks.kube.params import DEFAULT
from lookout.checks.kube.pods import PodHealth, assess
from lookout.checks.kube.sections import DaemonSet, Deployment, Pod, ReplicaSet, StatefulSet

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC).timestamp()


def ago(seconds: float) -> str:
    return dt.datetime.fromtimestamp(NOW - seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def conv(kind: type[Any], data: dict[str, Any]) -> Any:
    return msgspec.convert(data, kind, strict=False)


def deployment(
    *,
    generation: int = 8,
    revision: str = "9",
    progressing: dict[str, Any] | None = None,
    **st: Any,
) -> Deployment:
    status = {
        "observedGeneration": 8,
        "replicas": 2,
        "updatedReplicas": 1,
        "readyReplicas": 1,
        "availableReplicas": 1,
        "unavailableReplicas": 1,
        **st,
    }
    status["conditions"] = [
        {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
        progressing
        or {
            "type": "Progressing",
            "status": "True",
            "reason": "ReplicaSetUpdated",
            "lastUpdateTime": ago(6700),
            "lastTransitionTime": ago(86400),
        },
    ]
    return conv(
        Deployment,
        {
            "metadata": {
                "name": "web",
                "namespace": "shop",
                "generation": generation,
                "annotations": {rollout.REVISION: revision},
            },
            "spec": {"replicas": 1, "progressDeadlineSeconds": 600},
            "status": status,
        },
    )


def replicaset(name: str, revision: str, replicas: int, ready: int, age: float) -> ReplicaSet:
    return conv(
        ReplicaSet,
        {
            "metadata": {
                "name": name,
                "namespace": "shop",
                "creationTimestamp": ago(age),
                "annotations": {rollout.REVISION: revision},
                "ownerReferences": [{"kind": "Deployment", "name": "web", "controller": True}],
            },
            "spec": {"replicas": replicas},
            "status": {"replicas": replicas, "readyReplicas": ready, "availableReplicas": ready},
        },
    )


def pod(name: str, owner: str, ready: bool, since: float, **labels: str) -> tuple[Pod, PodHealth]:
    p = conv(
        Pod,
        {
            "metadata": {
                "name": name,
                "namespace": "shop",
                "labels": labels,
                "ownerReferences": [{"kind": "ReplicaSet", "name": owner, "controller": True}],
            },
            "spec": {"nodeName": "n1"},
            "status": {
                "phase": "Running",
                "startTime": ago(since),
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True" if ready else "False",
                        "lastTransitionTime": ago(since),
                    }
                ],
                "containerStatuses": [{"name": "app", "ready": ready, "restartCount": 0}],
            },
        },
    )
    return p, assess(p, NOW, DEFAULT)


STUCK_RS = [replicaset("web-5d9f", "9", 1, 0, 6720), replicaset("web-77aa", "8", 1, 1, 900_000)]
STUCK_PODS = [
    pod("web-5d9f-x2x", "web-5d9f", False, 6700),
    pod("web-77aa-k1", "web-77aa", True, 9e5),
]


def test_stuck_rollout_names_the_new_replicaset_and_its_unready_pod() -> None:
    """The case of issue 15: the new ReplicaSet's pod unready for almost two hours, the old
    pod still serving, more replicas than desired; the controller still says Progressing."""
    out = rollout.deployment(deployment(), STUCK_RS, STUCK_PODS, "d", Memory(), NOW, DEFAULT)
    assert out.state == CRIT
    assert out.summary == (
        "rollout of web-5d9f (revision 9) stuck: no progress for 1h 51m (deadline 10m) (!!); "
        "1 old replica still running; 0 of 1 new pods ready; "
        "not ready: web-5d9f-x2x (Running, not ready for 1h 51m)"
    )


def test_deadline_exceeded_condition_is_crit() -> None:
    cond = {
        "type": "Progressing",
        "status": "False",
        "reason": "ProgressDeadlineExceeded",
        "message": 'ReplicaSet "web-5d9f" has timed out progressing.',
    }
    out = rollout.deployment(
        deployment(progressing=cond), STUCK_RS, STUCK_PODS, "d", Memory(), NOW, DEFAULT
    )
    assert out.state == CRIT
    assert out.summary.startswith(
        "rollout of web-5d9f (revision 9) stuck: progress deadline exceeded (!!); 1 old replica"
    )


def test_rollout_in_progress_warns_after_the_grace_time() -> None:
    """Progress is being made (lastUpdateTime recent): OK, then WARN after 15 minutes, CRIT
    after an hour; the clock starts when the new ReplicaSet was created."""
    progressing = {
        "type": "Progressing",
        "status": "True",
        "reason": "ReplicaSetUpdated",
        "lastUpdateTime": ago(30),
    }
    d = deployment(progressing=progressing)
    d.spec.progress_deadline_seconds = 7200  # progress keeps being made
    young = [replicaset("web-5d9f", "9", 1, 0, 120), STUCK_RS[1]]
    pods = [pod("web-5d9f-x2x", "web-5d9f", False, 100), STUCK_PODS[1]]
    m = Memory()
    first = rollout.deployment(d, young, pods, "d", m, NOW, DEFAULT)
    assert first.state == OK
    assert first.summary.startswith("rollout of web-5d9f (revision 9) in progress for 2m: ")
    later = rollout.deployment(d, young, pods, "d", m, NOW + 900, DEFAULT)
    assert later.state == WARN
    assert later.summary.startswith("rollout of web-5d9f (revision 9) in progress for 17m (!): ")
    assert rollout.deployment(d, young, pods, "d", m, NOW + 3600, DEFAULT).state == CRIT


def test_complete_and_paused_rollouts() -> None:
    done = deployment(
        replicas=1,
        updatedReplicas=1,
        unavailableReplicas=0,
        progressing={"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
    )
    rs = [replicaset("web-5d9f", "9", 1, 1, 7000), replicaset("web-77aa", "8", 0, 0, 9e5)]
    out = rollout.deployment(done, rs, [], "d", Memory(), NOW, DEFAULT)
    assert (out.state, out.summary) == (OK, "revision 9 rolled out (web-5d9f, 1/1 available)")
    paused = deployment()
    paused.spec.paused = True
    out = rollout.deployment(paused, STUCK_RS, STUCK_PODS, "d", Memory(), NOW, DEFAULT)
    assert (out.state, out.summary) == (
        OK,
        "rollout of web-5d9f (revision 9) paused: 1 old replica still running",
    )


def test_generation_not_observed() -> None:
    d = deployment(generation=9, replicas=1, updatedReplicas=1)
    rs = [replicaset("web-5d9f", "9", 1, 1, 7000)]
    out = rollout.deployment(d, rs, [], "d", Memory(), NOW, DEFAULT)
    assert out.state == OK  # just now: in progress, within the grace time
    assert out.summary.startswith(
        "rollout of web-5d9f (revision 9) in progress for 0s: generation 9 not observed yet "
        "(observed 8)"
    )


def statefulset(strategy: str = "RollingUpdate") -> StatefulSet:
    return conv(
        StatefulSet,
        {
            "metadata": {"name": "db", "namespace": "shop", "generation": 3},
            "spec": {"replicas": 3, "updateStrategy": {"type": strategy}},
            "status": {
                "observedGeneration": 3,
                "replicas": 3,
                "readyReplicas": 2,
                "updatedReplicas": 1,
                "currentRevision": "db-6c9b",
                "updateRevision": "db-7f8d",
            },
        },
    )


def test_statefulset_update_not_rolled_out() -> None:
    pods = [
        pod("db-2", "db", False, 1200, **{rollout.REVISION_LABEL: "db-7f8d"}),
        pod("db-1", "db", True, 9e5, **{rollout.REVISION_LABEL: "db-6c9b"}),
    ]
    m = Memory()
    assert rollout.statefulset(statefulset(), pods, "s", m, NOW, DEFAULT).state == OK
    out = rollout.statefulset(statefulset(), pods, "s", m, NOW + 1000, DEFAULT)
    assert out.state == WARN
    assert out.summary == (
        "update db-7f8d in progress for 16m (!): 1 of 3 replicas updated; "
        "not ready: db-2 (Running, not ready for 20m)"
    )
    ondelete = rollout.statefulset(statefulset("OnDelete"), pods, "s", m, NOW, DEFAULT)
    assert (ondelete.state, ondelete.summary) == (
        OK,
        "update db-7f8d waits for pods to be deleted (OnDelete): 1 of 3 replicas updated",
    )


def test_daemonset_rollout_stuck_and_misscheduled() -> None:
    ds = conv(
        DaemonSet,
        {
            "metadata": {"name": "agent", "namespace": "kube-system", "generation": 4},
            "status": {
                "observedGeneration": 4,
                "desiredNumberScheduled": 5,
                "currentNumberScheduled": 5,
                "numberMisscheduled": 1,
                "numberReady": 4,
                "numberAvailable": 4,
                "updatedNumberScheduled": 3,
            },
        },
    )
    m = Memory()
    rollout.daemonset(ds, [], "ds", m, NOW, DEFAULT)
    out = rollout.daemonset(ds, [], "ds", m, NOW + 3600, DEFAULT)
    assert out.state == CRIT
    assert out.summary == (
        "1 misscheduled (!); rollout of generation 4 in progress for 1h 0m (!!): "
        "3 of 5 nodes updated"
    )
    ds.status.updated_number_scheduled = 5
    out = rollout.daemonset(ds, [], "ds", m, NOW + 3700, DEFAULT)
    assert (out.state, out.summary) == (WARN, "1 misscheduled (!); generation 4 rolled out")
