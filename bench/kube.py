"""Kubernetes benchmark: synthetic clusters listed, watched and evaluated.

    .venv/bin/python bench/kube.py [--sizes 500x15000,5000x150000] [--changes 50000]

For each size NODESxPODS a generator builds a cluster (namespaces with quotas, Deployments with
ReplicaSets, StatefulSets, DaemonSets, CronJobs with Jobs, PVCs, pods with a few percent in
CrashLoopBackOff, Pending or not ready) and a separate process serves it as a Kubernetes API
over HTTP (pre-encoded pages, ``limit``/``continue``, watch streams). This process runs the
real monitor: the first full sync (every list, paged), one evaluation (all checks), the
mapping to hosts/services/results, and then applies a watch stream of pod changes.
Figures: seconds per phase, peak RSS, watch changes per second.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from livesite import free_port
from lookout.checks.kube.evaluate import Evaluation
from lookout.sources.kube import state
from lookout.sources.kube.client import Timeouts
from lookout.sources.kube.credentials import Credentials
from lookout.sources.kube.mapping import Mapper, Plan
from lookout.sources.kube.monitor import ClusterMonitor, ClusterSpec
from lookout.sources.kube.resources import BY_NAME

TS = "2026-11-20T10:00:00Z"
PAGE = 500


# ---------------------------------------------------------------------- generator
def _meta(name: str, ns: str, i: int, **extra: Any) -> dict[str, Any]:
    m = {
        "name": name,
        "uid": f"uid-{name}-{i}",
        "resourceVersion": str(i + 1),
        "creationTimestamp": TS,
        "generation": 1,
    }
    if ns:
        m["namespace"] = ns
    m.update(extra)
    return m


def _cond(kind: str, status: str = "True", **kw: str) -> dict[str, str]:
    return {"type": kind, "status": status, "lastTransitionTime": TS, **kw}


def _container(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "image": f"registry.example/{name}:1.2.3",
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "env": [{"name": "LOG_LEVEL", "value": "info"}],
    }


def _status(i: int) -> dict[str, Any]:
    running = {"running": {"startedAt": TS}}
    if i % 100 == 7:
        return {
            "phase": "Running",
            "startTime": TS,
            "conditions": [
                _cond("PodScheduled"),
                _cond("Initialized"),
                _cond("Ready", "False"),
                _cond("ContainersReady", "False"),
            ],
            "containerStatuses": [
                {
                    "name": "app",
                    "ready": False,
                    "restartCount": 12,
                    "image": "x",
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}},
                    "lastState": {
                        "terminated": {"exitCode": 1, "reason": "Error", "finishedAt": TS}
                    },
                }
            ],
        }
    if i % 200 == 11:
        return {
            "phase": "Pending",
            "conditions": [
                _cond(
                    "PodScheduled",
                    "False",
                    reason="Unschedulable",
                    message="0/5000 nodes are available: Insufficient cpu.",
                )
            ],
        }
    return {
        "phase": "Running",
        "hostIP": "10.0.0.1",
        "podIP": "10.244.0.1",
        "startTime": TS,
        "qosClass": "Burstable",
        "conditions": [
            _cond("PodScheduled"),
            _cond("Initialized"),
            _cond("Ready"),
            _cond("ContainersReady"),
        ],
        "containerStatuses": [
            {
                "name": "app",
                "ready": True,
                "restartCount": i % 3,
                "image": "x",
                "imageID": "sha256:abc",
                "containerID": "containerd://abc",
                "started": True,
                "state": running,
                "lastState": {},
            }
        ],
    }


def generate(nodes: int, pods: int) -> dict[str, list[dict[str, Any]]]:
    namespaces = max(10, pods // 150)
    per_workload = 10
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in BY_NAME}
    for n in range(nodes):
        name = f"node-{n:05d}"
        out["nodes"].append(
            {
                "metadata": _meta(
                    name,
                    "",
                    n,
                    labels={
                        "kubernetes.io/hostname": name,
                        "topology.kubernetes.io/zone": f"z{n % 3}",
                    },
                ),
                "spec": {"podCIDR": "10.244.0.0/24"},
                "status": {
                    "capacity": {"cpu": "32", "memory": "128Gi", "pods": "110"},
                    "allocatable": {"cpu": "31500m", "memory": "125Gi", "pods": "110"},
                    "conditions": [
                        _cond("MemoryPressure", "False"),
                        _cond("DiskPressure", "False"),
                        _cond("PIDPressure", "False"),
                        _cond("Ready"),
                    ],
                    "nodeInfo": {
                        "kubeletVersion": "v1.35.0",
                        "containerRuntimeVersion": "containerd://2.2.1",
                        "osImage": "Debian GNU/Linux 12",
                        "kernelVersion": "6.1.0",
                        "architecture": "amd64",
                    },
                },
            }
        )
    for s in range(namespaces):
        ns = f"team-{s:04d}"
        out["namespaces"].append(
            {"metadata": _meta(ns, "", s, labels={"team": ns}), "status": {"phase": "Active"}}
        )
        out["resourcequotas"].append(
            {
                "metadata": _meta("quota", ns, s),
                "status": {
                    "hard": {"pods": "200", "requests.cpu": "40"},
                    "used": {"pods": "150", "requests.cpu": "15"},
                },
            }
        )
        out["persistentvolumeclaims"].append(
            {
                "metadata": _meta("data", ns, s),
                "spec": {"volumeName": f"pv-{s}", "resources": {"requests": {"storage": "10Gi"}}},
                "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}},
            }
        )
        out["persistentvolumes"].append(
            {
                "metadata": _meta(f"pv-{s}", "", s),
                "spec": {
                    "capacity": {"storage": "10Gi"},
                    "claimRef": {"namespace": ns, "name": "data"},
                    "persistentVolumeReclaimPolicy": "Delete",
                },
                "status": {"phase": "Bound"},
            }
        )
        out["poddisruptionbudgets"].append(
            {
                "metadata": _meta("budget", ns, s),
                "status": {
                    "disruptionsAllowed": 1,
                    "currentHealthy": 10,
                    "desiredHealthy": 9,
                    "expectedPods": 10,
                    "conditions": [_cond("DisruptionAllowed", reason="SufficientPods")],
                },
            }
        )
    for i in range(pods):
        ns = f"team-{(i // per_workload) % namespaces:04d}"
        w = i // per_workload
        kind = ("Deployment", "Deployment", "Deployment", "StatefulSet", "DaemonSet")[w % 5]
        wname = f"app-{w:06d}"
        if i % per_workload == 0:
            wl: dict[str, Any] = {"metadata": _meta(wname, ns, w, labels={"app": wname})}
            if kind == "DaemonSet":
                wl["status"] = {
                    "desiredNumberScheduled": per_workload,
                    "currentNumberScheduled": per_workload,
                    "numberReady": per_workload - 1,
                    "numberAvailable": per_workload - 1,
                    "updatedNumberScheduled": per_workload,
                    "observedGeneration": 1,
                }
                out["daemonsets"].append(wl)
            else:
                wl["spec"] = {"replicas": per_workload}
                wl["status"] = {
                    "replicas": per_workload,
                    "readyReplicas": per_workload - 1,
                    "availableReplicas": per_workload - 1,
                    "updatedReplicas": per_workload,
                    "observedGeneration": 1,
                    "conditions": [
                        _cond("Available"),
                        _cond("Progressing", reason="NewReplicaSetAvailable"),
                    ],
                }
                if kind == "StatefulSet":
                    wl["status"].update({"currentRevision": "r1", "updateRevision": "r1"})
                out["statefulsets" if kind == "StatefulSet" else "deployments"].append(wl)
                if kind == "Deployment" and w % 10 == 0:
                    out["horizontalpodautoscalers"].append(
                        {
                            "metadata": _meta(wname, ns, w),
                            "spec": {
                                "scaleTargetRef": {"kind": "Deployment", "name": wname},
                                "minReplicas": 2,
                                "maxReplicas": 20,
                            },
                            "status": {
                                "currentReplicas": per_workload,
                                "desiredReplicas": per_workload,
                                "conditions": [_cond("AbleToScale"), _cond("ScalingActive")],
                            },
                        }
                    )
                if kind == "Deployment":
                    out["replicasets"].append(
                        {
                            "metadata": _meta(
                                f"{wname}-5d9f7c",
                                ns,
                                w,
                                ownerReferences=[
                                    {
                                        "kind": "Deployment",
                                        "name": wname,
                                        "controller": True,
                                        "uid": "u",
                                    }
                                ],
                            )
                        }
                    )
        owner = {
            "Deployment": ("ReplicaSet", f"{wname}-5d9f7c"),
            "StatefulSet": ("StatefulSet", wname),
            "DaemonSet": ("DaemonSet", wname),
        }[kind]
        out["pods"].append(
            {
                "metadata": _meta(
                    f"{wname}-{i % per_workload}",
                    ns,
                    i,
                    labels={"app": wname, "pod-template-hash": "5d9f7c"},
                    ownerReferences=[
                        {
                            "apiVersion": "apps/v1",
                            "kind": owner[0],
                            "name": owner[1],
                            "uid": "u",
                            "controller": True,
                            "blockOwnerDeletion": True,
                        }
                    ],
                ),
                "spec": {
                    "nodeName": f"node-{i % nodes:05d}",
                    "containers": [_container("app")],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                    "serviceAccountName": "default",
                    "restartPolicy": "Always",
                },
                "status": _status(i),
            }
        )
    for c in range(max(1, namespaces // 2)):
        ns = f"team-{c:04d}"
        out["cronjobs"].append(
            {
                "metadata": _meta(f"nightly-{c}", ns, c),
                "spec": {"schedule": "0 3 * * *"},
                "status": {"lastScheduleTime": TS, "lastSuccessfulTime": TS},
            }
        )
        out["jobs"].append(
            {
                "metadata": _meta(
                    f"nightly-{c}-29000000",
                    ns,
                    c,
                    ownerReferences=[
                        {"kind": "CronJob", "name": f"nightly-{c}", "controller": True}
                    ],
                ),
                "status": {
                    "succeeded": 1,
                    "startTime": TS,
                    "completionTime": TS,
                    "conditions": [_cond("Complete")],
                },
            }
        )
    return out


# ---------------------------------------------------------------------- the API server process
def _serve(port: int, nodes: int, pods: int, changes: int, ready: Any) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    enc = msgspec.json.Encoder()
    data = generate(nodes, pods)
    rv = str(pods + 10)
    pages: dict[str, list[bytes]] = {}
    for res, items in data.items():
        chunks = [items[i : i + PAGE] for i in range(0, len(items), PAGE)] or [[]]
        pages[res] = [
            enc.encode(
                {
                    "kind": "List",
                    "apiVersion": "v1",
                    "metadata": {
                        "resourceVersion": rv,
                        **({"continue": f"{res}:{n + 1}"} if n + 1 < len(chunks) else {}),
                    },
                    "items": chunk,
                }
            )
            for n, chunk in enumerate(chunks)
        ]
    template = data["pods"]
    events: list[bytes] = []
    for n in range(changes):
        pod = template[n % len(template)]
        changed = {
            **pod,
            "metadata": {**pod["metadata"], "resourceVersion": str(pods + 100 + n)},
            "status": _status(n + 1),
        }
        events.append(enc.encode({"type": "MODIFIED", "object": changed}) + b"\n")
    stream = b"".join(events)
    del data, template, events

    async def collection(request: Request) -> Response:
        res = request.path_params["resource"]
        if request.query_params.get("watch"):

            async def body() -> Any:
                if res == "pods":
                    for i in range(0, len(stream), 1 << 20):
                        yield stream[i : i + (1 << 20)]
                await asyncio.sleep(3600)

            return StreamingResponse(body(), media_type="application/json")
        token = request.query_params.get("continue", "")
        n = int(token.rsplit(":", 1)[1]) if token else 0
        return Response(pages[res][n], media_type="application/json")

    async def simple(request: Request) -> Response:
        if request.url.path == "/version":
            return Response(b'{"gitVersion": "v1.35.0"}', media_type="application/json")
        if request.url.path.endswith("/events"):
            return Response(b'{"items": []}', media_type="application/json")
        return Response(b"ok")

    app = Starlette(
        routes=[
            Route("/version", simple),
            Route("/readyz", simple),
            Route("/livez", simple),
            Route("/api/v1/events", simple),
            Route("/api/v1/nodes/{node}/proxy/healthz", simple),
            Route("/api/v1/{resource}", collection),
            Route("/apis/{group}/{version}/{resource}", collection),
        ]
    )
    ready.set()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")


# ---------------------------------------------------------------------- measuring
def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def measure(nodes: int, pods: int, changes: int) -> None:
    port = free_port()
    ready = multiprocessing.Event()
    t0 = time.perf_counter()
    server = multiprocessing.Process(
        target=_serve, args=(port, nodes, pods, changes, ready), daemon=True
    )
    server.start()
    print(f"generating a cluster of {nodes} nodes / {pods} pods …", flush=True)
    ready.wait(600)
    await asyncio.sleep(0.5)
    gen = time.perf_counter() - t0
    creds = Credentials(server=f"http://127.0.0.1:{port}", token="bench")
    spec = ClusterSpec("bench", creds, usage="none", timeouts=Timeouts(connect=10, read=120))
    mon = ClusterMonitor(spec)
    try:
        t = time.perf_counter()
        print("  listing …", flush=True)
        await mon.sync()
        t_list = time.perf_counter() - t
        t = time.perf_counter()
        print("  evaluating …", flush=True)
        ev: Evaluation = await mon.evaluate_once()
        t_eval = time.perf_counter() - t
        t = time.perf_counter()
        print("  kubelet round …", flush=True)
        await mon.collect()
        t_collect = time.perf_counter() - t
        t = time.perf_counter()
        mapper = Mapper("bench")
        plan = mapper.plan(ev, {}, {}, time.time())
        t_map = time.perf_counter() - t
        t = time.perf_counter()
        saved = state.snapshot(mon, mapper, time.time())
        t_dump = time.perf_counter() - t
        t = time.perf_counter()
        state.restore(ClusterMonitor(spec), Mapper("bench"), saved)
        t_load = time.perf_counter() - t
        rss = rss_mib()
        print("  applying to a site …", flush=True)
        t_site, t_restart, verdicts = await apply_to_site(plan)
        print("  watching …", flush=True)
        res = BY_NAME["pods"]
        applied = 0
        t = time.perf_counter()
        async for event in mon.client.watch(res, mon.versions["pods"], timeout_seconds=3600):
            mon.apply_event(res, event)
            applied += 1
            if applied == changes:
                break
        t_watch = time.perf_counter() - t
    finally:
        await mon.aclose()
        server.terminate()
        server.join(10)
    total = t_list + t_eval
    print(
        f"cluster {nodes} nodes / {pods} pods ({mon.objects.count()} objects; "
        f"generated and served in {gen:.1f} s)"
    )
    print(f"  first full sync (list, paged by {PAGE}): {t_list:6.2f} s")
    sizes = f"{len(ev.hosts)} hosts, {len(ev.outcomes)} services"
    print(f"  evaluation (all checks):                {t_eval:6.2f} s  -> {sizes}")
    print(f"  list + evaluation:                      {total:6.2f} s")
    print(f"  kubelet /healthz round, all nodes (in the background): {t_collect:6.2f} s")
    planned = f"{len(plan.hosts)} hosts, {len(plan.services)} services, {len(plan.results)} results"
    print(f"  mapping to config + results:            {t_map:6.2f} s  -> {planned}")
    print(f"  site: hosts/services in one transaction, results journaled: {t_site:6.2f} s")
    print(
        f"  site restart until the engine holds the verdicts again: {t_restart:6.2f} s "
        f"({verdicts} service verdicts)"
    )
    kib = len(saved.memory) / 1024
    print(
        f"  remembered state: saved in {t_dump:.2f} s ({kib:,.0f} KiB), restored in {t_load:.2f} s"
    )
    print(f"  peak RSS after sync + evaluation:       {rss:6.0f} MiB")
    print(f"  watch: {applied} pod changes in {t_watch:.2f} s = {applied / t_watch:,.0f} changes/s")


async def apply_to_site(plan: Plan) -> tuple[float, float, int]:
    """What the site does with the first evaluation: every host and service in one transaction
    (SQLite, durable), then the results through the journal. Then the site restarts: seconds
    until its engine holds every service's verdict again (checkpoint + journal), and how many."""
    from lookout.engine.inputs import Results
    from lookout.sites.kube import RESULT_CHUNK
    from lookout.sites.site import Site, init_site

    with tempfile.TemporaryDirectory() as tmp:
        init_site(Path(tmp) / "site", listen=f"127.0.0.1:{free_port()}")
        site = Site(Path(tmp) / "site")
        await site.start()
        try:
            t = time.perf_counter()
            await site.apply_batch(plan.hosts, plan.services, [], [])
            print("    configuration stored; journaling the results …", flush=True)
            for i in range(0, len(plan.results), RESULT_CHUNK):
                await site.runner.apply(
                    Results(at=time.time(), results=plan.results[i : i + RESULT_CHUNK])
                )
            t_apply = time.perf_counter() - t
        finally:
            await site.stop()
        print("    restarting the site …", flush=True)
        site = Site(Path(tmp) / "site")
        t = time.perf_counter()
        await site.start()
        try:
            t_restart = time.perf_counter() - t
            checked = sum(1 for st in site.engine.status.values() if st.service and st.checked)
        finally:
            await site.stop()
        return t_apply, t_restart, checked


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="500x15000,5000x150000", help="NODESxPODS, comma-separated"
    )
    parser.add_argument("--changes", type=int, default=50_000, help="pod changes streamed by watch")
    args = parser.parse_args()
    for size in args.sizes.split(","):
        nodes, pods = (int(x) for x in size.lower().split("x"))
        asyncio.run(measure(nodes, pods, args.changes))


if __name__ == "__main__":
    main()
