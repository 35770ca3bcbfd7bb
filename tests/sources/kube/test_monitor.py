"""The cluster monitor end to end: the real client against the local API server fed with
recorded clusters; the states and summaries Lookout derives from each real case."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from kubeapi import KubeApi
from kubedata import feed_nri, feed_troubleshoot, need_fixtures

from lookout.checks.kube.api import CRIT, OK, UNKNOWN, WARN, Outcome
from lookout.checks.kube.evaluate import Evaluation
from lookout.sources.kube.client import Timeouts
from lookout.sources.kube.credentials import Credentials
from lookout.sources.kube.monitor import ClusterMonitor, ClusterSpec

pytestmark = pytest.mark.integration
RECORDED_1_35 = dt.datetime(2026, 6, 26, 12, 0, tzinfo=dt.UTC).timestamp()
"""Shortly after the nri 1.35 recording (durations then are minutes, not months)."""


def outcome(ev: Evaluation, host: str, service: str) -> Outcome:
    for h, s, o in ev.outcomes:
        if (h, s) == (host, service):
            return o
    raise AssertionError(
        f"no service {service!r} on {host!r}; hosts: {sorted({h for h, _, _ in ev.outcomes})}"
    )


async def evaluate(
    creds: Credentials, now: float | None = None, **spec: Any
) -> tuple[ClusterMonitor, Evaluation]:
    clock: Callable[[], float] = (lambda: now) if now is not None else __import__("time").time
    m = ClusterMonitor(ClusterSpec("lab", creds, **spec), clock=clock)
    try:
        await m.sync()
        await m.collect()  # usage, kubelet health, events (a background loop when running)
        return m, await m.evaluate_once()
    finally:
        await m.aclose()


async def test_recorded_minikube_cluster(api: KubeApi, creds: Credentials) -> None:
    need_fixtures()
    feed_nri(api)
    _, ev = await evaluate(creds, now=RECORDED_1_35)
    hosts = {h.name: h for h in ev.hosts}
    assert [p for h in ev.hosts for p in h.parents if p not in hosts] == []
    node = "k8s:lab:node:datagen-1-35"
    assert {"k8s:lab", node, "k8s:lab:ns:scraper", "k8s:lab:deployment:kube-system:coredns"} <= set(
        hosts
    )
    assert hosts[node].parents == ("k8s:lab",)
    assert hosts["k8s:lab:deployment:kube-system:coredns"].parents == ("k8s:lab:ns:kube-system",)
    assert hosts["k8s:lab:deployment:kube-system:coredns"].labels["k8s/namespace"] == "kube-system"
    assert hosts[node].labels["k8s/label/kubernetes.io/hostname"] == "datagen-1-35"
    assert outcome(ev, "k8s:lab", "Kubernetes API").state == OK
    assert outcome(ev, "k8s:lab", "Nodes").summary.startswith("1 ready, 0 not ready")
    assert outcome(ev, "k8s:lab", "Kubernetes version").summary == "API server v1.35.0"
    assert outcome(ev, node, "Condition") == Outcome(
        OK,
        "Ready, no pressure",
        outcome(ev, node, "Condition").details,
        outcome(ev, node, "Condition").metrics,
    )
    assert outcome(ev, node, "Kubelet").summary == "kubelet v1.35.0 healthy, stats read"
    pods = outcome(ev, node, "Pods")
    assert pods.state == OK
    assert pods.summary.startswith("18 of 110 pods")
    mem = outcome(ev, node, "Memory")
    assert mem.state == OK
    assert "working set" in mem.summary
    assert {m.name for m in mem.metrics} >= {"kube_node_memory", "kube_node_memory_percent"}
    # the unschedulable pod and the failing job's pods, named on namespace and workload
    problems = outcome(ev, "k8s:lab:ns:scraper", "Problem pods")
    assert "e2e-container-pending: Unschedulable: 0/1 nodes are available" in problems.summary
    failjob = outcome(ev, "k8s:lab:job:scraper:e2e-failjob", "Pods")
    assert failjob.state == WARN
    assert "e2e-failjob-28dqq: Failed" in failjob.summary
    cpu = outcome(ev, "k8s:lab:deployment:kube-system:coredns", "CPU")
    assert cpu.state == OK
    assert "of requests" in cpu.summary


@pytest.mark.parametrize(
    ("namespace", "state", "text"),
    [
        (
            "message-oomkill-pod",
            WARN,
            "oom-kill-job3-gbb89: Failed (container memory-eater OOMKilled (exit 137))",
        ),
        (
            "message-image-pull-fail",
            CRIT,
            "no-image-deployment-849c4c4958-rxqmt: ErrImagePull "
            "(container demo-deployment-container",
        ),
        (
            "message-pod-crashloop-backoff",
            CRIT,
            "init-demo: CrashLoopBackOff "
            "(container nginx, 4 restarts, last exit 127 ContainerCannotRun)",
        ),
        (
            "message-pod-init-crashloop-backoff",
            CRIT,
            "init-demo2: RunContainerError (container install",
        ),
        (
            "message-pending-pod-resources",
            CRIT,
            "Unschedulable: 0/1 nodes are available: 1 Insufficient nvidia.com/gpu",
        ),
        ("message-pending-node-affinity", CRIT, "didn't match Pod's node affinity/selector"),
        (
            "message-container-creating-failed-mount",
            CRIT,
            "Pending: ContainerCreating (container collector); FailedMount:",
        ),
    ],
)
async def test_recorded_failure_states(
    api: KubeApi, creds: Credentials, namespace: str, state: int, text: str
) -> None:
    need_fixtures()
    feed_troubleshoot(api)
    _, ev = await evaluate(creds)
    got = outcome(ev, f"k8s:lab:ns:{namespace}", "Problem pods")
    assert got.state == state
    assert text in got.summary


async def test_failure_named_on_workload(api: KubeApi, creds: Credentials) -> None:
    need_fixtures()
    feed_troubleshoot(api)
    _, ev = await evaluate(creds)
    pull = outcome(ev, "k8s:lab:deployment:message-image-pull-fail:no-image-deployment", "Pods")
    assert pull.state == CRIT
    assert "ErrImagePull" in pull.summary
    job = outcome(ev, "k8s:lab:job:test:post-install-job", "Job")
    assert job.state == CRIT
    assert job.summary.startswith("failed: BackoffLimitExceeded")
    names = {h.name for h in ev.hosts}
    assert [p for h in ev.hosts for p in h.parents if p not in names] == []  # parents exist
    pvc = outcome(ev, "k8s:lab:ns:default", "PVC data-postgresql-0")
    assert pvc.state == OK
    assert pvc.summary.startswith("Bound to pvc-b733694c-a969-4763-9960-d3465c9fccd5, 8.0 GiB")
    sts = outcome(ev, "k8s:lab:statefulset:default:kotsadm-postgres", "Replicas")
    assert sts.summary.startswith("1/1 ready")


async def test_rbac_denial_is_named(api: KubeApi, creds: Credentials) -> None:
    need_fixtures()
    feed_nri(api)
    api.tokens["limited"] = {f"list {r}" for r in ("nodes", "namespaces", "pods")}
    limited = Credentials(server=creds.server, token="limited", ca_data=creds.ca_data)
    m, ev = await evaluate(limited, usage="kubelet")
    beat = outcome(ev, "k8s:lab", "Kubernetes monitor")
    assert beat.state == CRIT
    assert "may not list cronjobs, daemonsets, deployments" in beat.summary
    assert 'cannot list resource "cronjobs"' in beat.details
    assert outcome(ev, "k8s:lab:node:datagen-1-35", "Kubelet").state == CRIT  # nodes/proxy denied
    assert m.objects.pods  # what may be read is monitored


async def _run_until(
    m: ClusterMonitor, seen: list[Evaluation], cond: Callable[[Evaluation], bool]
) -> Evaluation:
    task = asyncio.create_task(m.run())
    try:
        for _ in range(400):
            await asyncio.sleep(0.025)
            for ev in seen:
                if cond(ev):
                    return ev
        raise AssertionError(
            f"condition not reached; last: {seen[-1].outcomes[:8] if seen else None}"
        )
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await m.aclose()


def _publisher(seen: list[Evaluation]) -> Callable[[str, Evaluation], Any]:
    async def publish(_: str, ev: Evaluation) -> None:
        seen.append(ev)

    return publish


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        ("token", "401"),
        ("500", "500"),
        ("hang", "timed out"),
    ],
)
async def test_unreachable_api_is_crit_with_reason(
    api: KubeApi, creds: Credentials, breakage: str, expected: str
) -> None:
    if breakage == "token":
        creds = Credentials(server=creds.server, token="expired", ca_data=creds.ca_data)
    elif breakage == "500":
        api.fail["/version"] = 500
    else:
        api.hang.add("/version")
    seen: list[Evaluation] = []
    spec = ClusterSpec("lab", creds, interval=0.05, timeouts=Timeouts(connect=2, read=0.2))
    m = ClusterMonitor(spec, _publisher(seen))
    ev = await _run_until(m, seen, lambda e: True)
    assert ev.partial  # nothing gets deleted while we cannot see the cluster
    beat = outcome(ev, "k8s:lab", "Kubernetes monitor")
    assert beat.state == CRIT
    assert expected in beat.summary
    assert outcome(ev, "k8s:lab", "Kubernetes API").state == CRIT


def _pod(name: str, phase: str = "Running", **status: Any) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "ownerReferences": [{"kind": "StatefulSet", "name": "db", "controller": True}],
        },
        "spec": {"nodeName": "n1"},
        "status": {"phase": phase, **status},
    }


async def test_watch_applies_changes_deletes_and_relists_after_410(
    api: KubeApi, creds: Credentials
) -> None:
    api.add(
        {
            "kind": "Node",
            "metadata": {"name": "n1"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }
    )
    api.add(_pod("db-0"))
    api.add(_pod("db-1"))
    seen: list[Evaluation] = []
    m = ClusterMonitor(
        ClusterSpec("lab", creds, interval=0.05, usage="none", watch_timeout=5), _publisher(seen)
    )
    task = asyncio.create_task(m.run())
    try:

        async def wait(cond: Callable[[], bool]) -> None:
            for _ in range(400):
                if cond():
                    return
                await asyncio.sleep(0.025)
            raise AssertionError("not reached")

        await wait(lambda: m.synced and len(m.objects.pods) == 2)
        api.delete("pods", "shop", "db-1")  # deleted mid-watch
        api.change(
            _pod(
                "db-0",
                "Pending",
                conditions=[
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "message": "no node",
                    }
                ],
            )
        )
        await wait(
            lambda: (
                "shop/db-1" not in m.objects.pods
                and m.objects.pods["shop/db-0"].status.phase == "Pending"
            )
        )
        api.compact()  # history gone: the watch gets 410 and the monitor relists
        api.add(_pod("db-2"))  # only visible through the relist
        await wait(lambda: m.relists >= 1 and "shop/db-2" in m.objects.pods)

        def published() -> bool:
            last = seen[-1].outcomes if seen else []
            return any(
                "db-0: Unschedulable" in o.summary for _, s, o in last if s == "Problem pods"
            )

        await wait(published)
        assert m.connected
        assert not seen[-1].partial
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await m.aclose()


async def test_missing_fields_and_unknown_owners_do_not_crash(
    api: KubeApi, creds: Credentials
) -> None:
    api.add({"kind": "Pod", "metadata": {"name": "bare", "namespace": "odd"}})
    api.add(
        {
            "kind": "Pod",
            "metadata": {
                "name": "mirror",
                "namespace": "odd",
                "ownerReferences": [{"kind": "Node", "name": "n"}],
            },
            "status": {"phase": "Running"},
        }
    )
    api.add(
        {
            "kind": "Pod",
            "metadata": {
                "name": "custom",
                "namespace": "odd",
                "ownerReferences": [{"kind": "Rollout", "name": "r", "controller": True}],
            },
            "status": {"phase": "CrashLoopBackOff"},
        }
    )
    api.add({"kind": "Node", "metadata": {"name": "n"}})
    api.add({"kind": "Deployment", "metadata": {"name": "d", "namespace": "odd"}})
    api.add(
        {
            "kind": "ResourceQuota",
            "metadata": {"name": "q", "namespace": "odd"},
            "status": {"hard": {"pods": "2", "cpu": "bogus"}, "used": {"pods": "3"}},
        }
    )
    api.null_items.add("cronjobs")
    _, ev = await evaluate(creds, usage="none")
    problems = outcome(ev, "k8s:lab:ns:odd", "Problem pods")
    assert "custom: unknown phase 'CrashLoopBackOff'" in problems.summary
    assert "bare: Unknown, not ready" not in problems.summary or problems.state in (WARN, CRIT)
    assert outcome(ev, "k8s:lab:node:n", "Condition").state == UNKNOWN
    quota = outcome(ev, "k8s:lab:ns:odd", "Resource quota")
    assert quota.state == CRIT
    assert "q pods exceeded (150%)" in quota.summary
    replicas = outcome(ev, "k8s:lab:deployment:odd:d", "Replicas")
    assert replicas.summary.startswith("0/1 ready")


async def test_pod_hosts_by_label_selector(api: KubeApi, creds: Credentials) -> None:
    need_fixtures()
    feed_nri(api)
    _, ev = await evaluate(creds, now=RECORDED_1_35, pod_hosts={"k8s-app": "kube-dns"})
    pod_hosts = [h for h in ev.hosts if h.kind == "pod"]
    assert [h.name for h in pod_hosts] == ["k8s:lab:pod:kube-system:coredns-7d764666f9-qdcxt"]
    assert pod_hosts[0].parents == ("k8s:lab:deployment:kube-system:coredns",)
    assert outcome(ev, pod_hosts[0].name, "Status").summary == "Running"


async def test_recorded_1_31_cluster(api: KubeApi, creds: Credentials) -> None:
    need_fixtures()
    feed_nri(api, "1_31")
    recorded = dt.datetime(2025, 11, 4, 12, 0, tzinfo=dt.UTC).timestamp()
    _, ev = await evaluate(creds, now=recorded)
    node = "k8s:lab:node:datagen-1-31"
    assert outcome(ev, "k8s:lab", "Kubernetes version").summary == "API server v1.31.0"
    assert outcome(ev, node, "Condition").state == OK
    info = outcome(ev, node, "Info")
    assert "Ubuntu 22.04" in info.summary
    assert "containerd://1.7.27" in info.summary
    assert outcome(ev, node, "Kubelet").summary == "kubelet v1.31.0 healthy, stats read"
    problems = outcome(ev, "k8s:lab:ns:scraper", "Problem pods")
    assert problems.state in (WARN, CRIT)
    assert "Unschedulable" in problems.summary


async def test_an_unreadable_object_is_skipped_and_named(api: KubeApi, creds: Credentials) -> None:
    api.add(
        {
            "kind": "Deployment",
            "metadata": {"name": "good", "namespace": "odd"},
            "spec": {"replicas": 1},
        }
    )
    api.add(
        {
            "kind": "Deployment",
            "metadata": {"name": "broken", "namespace": "odd"},
            "spec": {"replicas": "three"},
        }
    )
    m, ev = await evaluate(creds, usage="none")
    assert list(m.objects.deployments) == ["odd/good"]
    beat = outcome(ev, "k8s:lab", "Kubernetes monitor")
    assert beat.state == WARN
    assert beat.summary == "1 object(s) not understood, skipped: deployments odd/broken"
    assert "Expected `int | null`, got `str` - at `$.spec.replicas`" in beat.details
    assert outcome(ev, "k8s:lab:deployment:odd:good", "Replicas").state == OK


async def test_an_unreadable_watch_event_is_skipped(api: KubeApi, creds: Credentials) -> None:
    api.add(_pod("db-0"))
    seen: list[Evaluation] = []
    spec = ClusterSpec("lab", creds, interval=0.05, usage="none", watch_timeout=5)
    m = ClusterMonitor(spec, _publisher(seen))

    def broken_then_fixed() -> bool:
        return "shop/db-9" in m.objects.pods and not m.client.rejected.get("pods")

    task = asyncio.create_task(m.run())
    try:
        for _ in range(400):
            if m.synced:
                break
            await asyncio.sleep(0.025)
        bad = _pod("db-9")
        bad["status"]["containerStatuses"] = [{"name": "x", "restartCount": "many"}]
        api.change(bad)
        for _ in range(400):
            if m.client.rejected.get("pods"):
                break
            await asyncio.sleep(0.025)
        assert list(m.client.rejected["pods"]) == ["shop/db-9"]
        api.change(_pod("db-9"))
        for _ in range(400):
            if broken_then_fixed():
                break
            await asyncio.sleep(0.025)
        assert broken_then_fixed()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await m.aclose()


async def test_a_resource_the_server_does_not_serve(api: KubeApi, creds: Credentials) -> None:
    api.fail["/apis/batch/v1/cronjobs"] = 404
    api.add(_pod("db-0"))
    m, ev = await evaluate(creds, usage="none")
    beat = outcome(ev, "k8s:lab", "Kubernetes monitor")
    assert beat.state == WARN
    assert beat.summary == "not served by this API server: cronjobs"
    assert "shop/db-0" in m.objects.pods
    assert "cronjobs" not in m.versions  # nothing to watch


async def test_unreachable_kubelets_are_crit(api: KubeApi, creds: Credentials) -> None:
    need_fixtures()
    feed_troubleshoot(api)  # nodes without a recorded kubelet: the node proxy answers 503
    _, ev = await evaluate(creds)
    out = outcome(ev, "k8s:lab:node:repldev-marc", "Kubelet")
    assert out.state == CRIT
    assert out.summary.startswith(
        "kubelet v1.16.2 /healthz: 503 ServiceUnavailable: no route to kubelet"
    )
