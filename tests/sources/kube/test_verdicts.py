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

from livesite import free_port
from lookout.checks.kube.api import CRIT, OK, WARN
from lookout.sources.kube.credentials import Credentials
from lookout.sources.kube.mapping import Mapper
from lookout.sources.kube.monitor import ClusterMonitor, ClusterSpec

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


async def test_one_cause_is_judged_once(api: KubeApi, creds: Credentials) -> None:
    """The unready pod is judged on its Deployment's Pods; the namespace's Problem pods, the
    Deployment's Rollout, Replicas and Restarts say they depend on it (the engine shows them
    with it and pages once); a bare pod's problem stays the namespace's own."""
    feed_stuck_rollout(api)
    _, ev = await evaluate(creds, now=NOW, usage="none")
    web = "k8s:lab:deployment:shop:web"
    assert outcome(ev, web, "Pods").state == CRIT
    problems = outcome(ev, "k8s:lab:ns:shop", "Problem pods")
    assert (problems.state, problems.summary) == (
        CRIT,
        "1 of 2 pods: web-5d9f8c-x2xq: Running, not ready for 1h 51m",
    )
    plan = Mapper("lab").plan(ev, {}, {}, NOW)
    depends = {(s.host, s.name): s.depends_on for s in plan.services if s.depends_on}
    assert depends == {
        ("k8s:lab:ns:shop", "Problem pods"): ((web, "Pods"),),
        (web, "Replicas"): ((web, "Pods"),),
        (web, "Rollout"): ((web, "Pods"),),
        (web, "Restarts"): ((web, "Pods"),),
    }
    bare = _pod("debug", "x-y", ready=False, since=7200)
    del bare["metadata"]["ownerReferences"]
    api.add(bare)
    _, ev = await evaluate(creds, now=NOW, usage="none")
    assert ("k8s:lab:ns:shop", "Problem pods") not in ev.depends


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
    assert ev.depends[("k8s:lab:node:n1", "Filesystem")] == (("k8s:lab:node:n1", "Kubelet"),)
    assert ev.depends[("k8s:lab:node:n1", "Kubelet")] == (("k8s:lab", "Usage source"),)


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


def _cond(kind: str, status: str, reason: str = "", since: float = 0, msg: str = "") -> Any:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": msg,
        "lastTransitionTime": ago(since),
    }


async def test_autoscalers_budgets_and_volumes(api: KubeApi, creds: Credentials) -> None:
    api.add(
        {
            "kind": "Deployment",
            "metadata": {"name": "api", "namespace": "shop", "generation": 1},
            "spec": {"replicas": 10},
            "status": {"observedGeneration": 1, "replicas": 10, "updatedReplicas": 10},
        }
    )

    def hpa(name: str, current: int, *conds: Any) -> dict[str, Any]:
        return {
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
                "minReplicas": 2,
                "maxReplicas": 10,
            },
            "status": {
                "currentReplicas": current,
                "desiredReplicas": current,
                "conditions": list(conds),
            },
        }

    api.add(hpa("maxed", 10, _cond("ScalingLimited", "True", "TooManyReplicas", 7200)))
    blind = "the HPA was unable to compute the replica count: no metrics returned"
    api.add(hpa("blind", 4, _cond("ScalingActive", "False", "FailedGetResourceMetric", 60, blind)))
    api.add(
        {
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "db", "namespace": "shop"},
            "status": {
                "disruptionsAllowed": 0,
                "currentHealthy": 2,
                "desiredHealthy": 2,
                "expectedPods": 2,
                "conditions": [_cond("DisruptionAllowed", "False", "InsufficientPods", 10800)],
            },
        }
    )

    def pv(name: str, phase: str, **status: Any) -> dict[str, Any]:
        return {
            "kind": "PersistentVolume",
            "metadata": {"name": name},
            "spec": {
                "capacity": {"storage": "10Gi"},
                "claimRef": {"namespace": "shop", "name": f"data-{name}"},
                "persistentVolumeReclaimPolicy": "Retain",
            },
            "status": {"phase": phase, **status},
        }

    api.add(pv("pv-a", "Failed", message="Error deleting EBS volume: VolumeInUse"))
    api.add(pv("pv-b", "Released", lastPhaseTransitionTime=ago(86400)))
    api.add(pv("pv-c", "Bound"))
    _, ev = await evaluate(creds, now=NOW, usage="none")
    host = "k8s:lab:deployment:shop:api"
    maxed = outcome(ev, host, "HPA maxed")
    assert (maxed.state, maxed.summary) == (
        WARN,
        "10 replicas (min 2, max 10), desired 10; at its maximum of 10 for 2h 0m (!)",
    )
    blinded = outcome(ev, host, "HPA blind")
    assert (blinded.state, blinded.summary) == (
        WARN,
        f"4 replicas (min 2, max 10), desired 4; metrics unavailable: FailedGetResourceMetric "
        f"{blind} (!)",
    )
    pdb = outcome(ev, "k8s:lab:ns:shop", "PDB db")
    assert (pdb.state, pdb.summary) == (
        WARN,
        "2 of 2 pods healthy (wants 2), 0 disruptions allowed; "
        "no disruption allowed for 3h 0m (drains block) (!)",
    )
    pvs = outcome(ev, "k8s:lab", "Persistent volumes")
    assert (pvs.state, pvs.summary) == (
        CRIT,
        "pv-a Failed (was shop/data-pv-a, reclaim Retain): Error deleting EBS volume: "
        "VolumeInUse [10.0 GiB] (!!); pv-b Released for 1d 0h (was shop/data-pv-b, reclaim "
        "Retain) [10.0 GiB] (!) (1 bound, 1 failed, 1 released)",
    )


async def test_cronjobs_jobs_and_nodes(api: KubeApi, creds: Credentials) -> None:
    api.add(
        {
            "kind": "CronJob",
            "metadata": {"name": "report", "namespace": "batch", "creationTimestamp": ago(9e5)},
            "spec": {"schedule": "*/5 * * * *"},
            "status": {"lastScheduleTime": ago(7200), "lastSuccessfulTime": ago(7200)},
        }
    )
    api.add(
        {
            "kind": "Job",
            "metadata": {"name": "migrate", "namespace": "batch"},
            "spec": {"activeDeadlineSeconds": 600},
            "status": {"active": 1, "startTime": ago(1200)},
        }
    )
    node = _node("n1")
    node["spec"] = {
        "unschedulable": True,
        "taints": [
            {
                "key": "node.kubernetes.io/unschedulable",
                "effect": "NoSchedule",
                "timeAdded": ago(2 * 86400),
            }
        ],
    }
    node["status"]["conditions"].append(
        _cond("MemoryPressure", "True", "KubeletHasInsufficientMemory", 300)
    )
    api.add(node)
    _, ev = await evaluate(creds, now=NOW, usage="none")
    cron = outcome(ev, "k8s:lab:cronjob:batch:report", "CronJob")
    assert (cron.state, cron.summary) == (CRIT, "missed its schedule: due 1h 55m ago (!!)")
    job = outcome(ev, "k8s:lab:job:batch:migrate", "Job")
    assert (job.state, job.summary) == (
        CRIT,
        "running for 20m, past its deadline of 10m (!!) (1 active, 0 succeeded, 0 failed)",
    )
    cond = outcome(ev, "k8s:lab:node:n1", "Condition")
    assert (cond.state, cond.summary) == (WARN, "MemoryPressure=True, cordoned for 2d 0h (!)")


async def test_api_server_certificate_from_the_handshake(api: KubeApi, creds: Credentials) -> None:
    """The local API server's certificate is valid for one day: CRIT (below 7 days)."""
    api.add(_node("n1"))
    _, ev = await evaluate(creds, usage="none")
    cert = outcome(ev, "k8s:lab", "API certificate")
    assert cert.state == CRIT
    assert cert.summary.startswith("CN=kube-apiserver, expires ")
    assert cert.summary.endswith(" UTC (1 days left) (!!)")
    assert cert.details == "Issuer: CN=kubeapi-test-ca"


async def test_recorded_warning_events_summarised_per_object(
    api: KubeApi, creds: Credentials
) -> None:
    need_fixtures()
    feed_troubleshoot(api)
    now = dt.datetime(2023, 7, 11, 6, 0, tzinfo=dt.UTC).timestamp()
    _, ev = await evaluate(creds, now=now, usage="none")
    got = outcome(ev, "k8s:lab:ns:message-image-pull-fail", "Warning events")
    assert (got.state, got.summary) == (
        OK,
        "13 in the last hour on 1 object(s): Pod no-image-deployment-849c4c4958-rxqmt: "
        "Failed ×13 (Error: ImagePullBackOff)",
    )
    quiet = outcome(ev, "k8s:lab:ns:default", "Warning events")
    assert (quiet.state, quiet.summary) == (OK, "no warning events in the last hour")


async def test_kubelet_certificates_where_reachable(api: KubeApi, creds: Credentials) -> None:
    """A kubelet the site can reach (here: the local server's TLS port stands in for it) shows
    its serving certificate's days left; one it cannot reach only says so in the details."""
    port = int(creds.server.rsplit(":", 1)[1])
    for name, node_port in (("n1", port), ("n2", free_port())):
        node = _node(name)
        node["status"]["addresses"] = [{"type": "InternalIP", "address": "127.0.0.1"}]
        node["status"]["daemonEndpoints"] = {"kubeletEndpoint": {"Port": node_port}}
        api.add(node)
        api.stats[name] = _stats(name)
    m = ClusterMonitor(ClusterSpec("lab", creds, usage="kubelet"))
    try:
        await m.sync()
        await m.collect()
        await m.read_kubelet_certificates()
        ev = await m.evaluate_once()
    finally:
        await m.aclose()
    reachable = outcome(ev, "k8s:lab:node:n1", "Kubelet")
    assert (reachable.state, reachable.summary) == (
        CRIT,
        "kubelet v1.35.0 healthy, stats read; serving certificate 1 days left (!!)",
    )
    assert "Serving certificate: CN=kube-apiserver" in reachable.details
    unreachable = outcome(ev, "k8s:lab:node:n2", "Kubelet")
    assert (unreachable.state, unreachable.summary) == (OK, "kubelet v1.35.0 healthy, stats read")
    assert unreachable.details.startswith(
        "Serving certificate not read: TLS handshake with 127.0.0.1:"
    )


async def test_autoscalers_of_a_server_before_autoscaling_v2(
    api: KubeApi, creds: Credentials
) -> None:
    """Kubernetes before 1.23 serves HPAs as autoscaling/v2beta2 only: listed there, with no
    "not served" warning."""
    api.fail["/apis/autoscaling/v2/horizontalpodautoscalers"] = 404
    api.add(
        {
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "api", "namespace": "shop"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "api"}, "maxReplicas": 5},
            "status": {"currentReplicas": 2, "desiredReplicas": 2},
        }
    )
    m, ev = await evaluate(creds, now=NOW, usage="none")
    assert m.resources["horizontalpodautoscalers"].path == (
        "/apis/autoscaling/v2beta2/horizontalpodautoscalers"
    )
    hpa = outcome(ev, "k8s:lab:ns:shop", "HPA api")
    assert (hpa.state, hpa.summary) == (OK, "2 replicas (min 1, max 5), desired 2")
    beat = outcome(ev, "k8s:lab", "Kubernetes monitor")
    assert beat.state == OK


async def test_a_node_with_a_bad_kubelet_port_only_says_so(
    api: KubeApi, creds: Credentials
) -> None:
    node = _node("n1")
    node["status"]["addresses"] = [{"type": "InternalIP", "address": "127.0.0.1"}]
    node["status"]["daemonEndpoints"] = {"kubeletEndpoint": {"Port": 99999}}
    api.add(node)
    api.stats["n1"] = _stats("n1")
    m = ClusterMonitor(ClusterSpec("lab", creds, usage="none"))
    try:
        await m.sync()
        await m.collect()
        await m.read_kubelet_certificates()
        ev = await m.evaluate_once()
    finally:
        await m.aclose()
    kubelet = outcome(ev, "k8s:lab:node:n1", "Kubelet")
    assert (kubelet.state, kubelet.summary) == (OK, "kubelet v1.35.0 healthy")
    assert kubelet.details.startswith("Serving certificate not read: https://127.0.0.1:99999: ")


async def test_a_dead_kubelet_pages_on_its_own(api: KubeApi, creds: Credentials) -> None:
    """No answer from the kubelet at all (/healthz and stats): its Kubelet is CRIT and depends
    on nothing, while its Filesystem still follows from it."""
    api.add(_node("n1"))  # no recorded kubelet: the node proxy answers 503
    _, ev = await evaluate(creds, now=NOW)
    kubelet = outcome(ev, "k8s:lab:node:n1", "Kubelet")
    assert (kubelet.state, kubelet.summary) == (
        CRIT,
        "kubelet v1.35.0 /healthz: 503 ServiceUnavailable: no route to kubelet of node n1",
    )
    assert ("k8s:lab:node:n1", "Kubelet") not in ev.depends
    assert ev.depends[("k8s:lab:node:n1", "Filesystem")] == (("k8s:lab:node:n1", "Kubelet"),)
