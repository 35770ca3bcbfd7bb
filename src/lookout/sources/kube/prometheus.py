"""Usage from a Prometheus server that scrapes cAdvisor and kube-state-metrics (the
kube-prometheus setup many clusters already run), queried with PromQL over its HTTP API.

Pod usage comes from cAdvisor's container series; node usage is the sum of the containers on
the node, joined to their node through kube-state-metrics' ``kube_pod_info`` (the same join
kubernetes-mixin's recording rules use), so no relabelling of cAdvisor targets is needed.
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec

from lookout.checks.kube.view import NodeUsage, Usage, VolumeUsage, key
from lookout.sources.kube.errors import BadAnswer, KubeError, Unreachable, for_status

CONTAINERS = 'container!="", container!="POD"'
CPU = f"rate(container_cpu_usage_seconds_total{{{CONTAINERS}}}[5m])"
PVC = "namespace, persistentvolumeclaim"
MEMORY = f"container_memory_working_set_bytes{{{CONTAINERS}}}"
ON_NODE = " * on (namespace, pod) group_left (node) max by (namespace, pod, node) (kube_pod_info)"
QUERIES = {
    "pod_cpu": f"sum by (namespace, pod) ({CPU})",
    "pod_memory": f"sum by (namespace, pod) ({MEMORY})",
    "node_cpu": f"sum by (node) (sum by (namespace, pod) ({CPU}){ON_NODE})",
    "node_memory": f"sum by (node) (sum by (namespace, pod) ({MEMORY}){ON_NODE})",
    # kubelet volume stats (scraped from the kubelets' /metrics): PVC usage, as the mixin's
    # KubePersistentVolumeFillingUp reads it
    **{
        f"pvc_{what}": f"max by ({PVC}) (kubelet_volume_stats_{what}_bytes)"
        for what in ("used", "capacity", "available")
    },
}


class _Sample(msgspec.Struct):
    metric: dict[str, str]
    value: tuple[float, str]


class _Data(msgspec.Struct):
    resultType: str
    result: list[_Sample]


class _Answer(msgspec.Struct):
    status: str
    data: _Data | None = None
    error: str = ""
    errorType: str = ""


class PrometheusUsage:
    """Reads usage with a few instant queries per evaluation."""

    def __init__(
        self, url: str, *, timeout: float = 15.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.http = httpx.AsyncClient(
            base_url=url.rstrip("/"), timeout=timeout, transport=transport, trust_env=False
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def query(self, promql: str) -> list[_Sample]:
        try:
            r = await self.http.get("/api/v1/query", params={"query": promql})
        except httpx.HTTPError as exc:
            raise Unreachable(
                f"Prometheus {self.http.base_url}: {exc or type(exc).__name__}"
            ) from exc
        try:
            answer = msgspec.json.decode(r.content, type=_Answer)
        except msgspec.DecodeError as exc:
            if r.status_code >= 400:
                raise for_status(
                    r.status_code, f"Prometheus: {r.status_code} {r.text[:200]}"
                ) from exc
            raise BadAnswer(f"Prometheus: not a query answer: {r.text[:200]!r}") from exc
        if answer.status != "success" or answer.data is None:
            raise BadAnswer(f"Prometheus query failed ({answer.errorType}): {answer.error}")
        if answer.data.resultType != "vector":
            raise BadAnswer(f"Prometheus: expected a vector, got {answer.data.resultType}")
        return answer.data.result

    async def read(self, _objects: Any = None) -> Usage:
        usage = Usage(source="prometheus")
        found: dict[str, list[_Sample]] = {}
        for name, promql in QUERIES.items():
            found[name] = await self.query(promql)
        pods: dict[str, list[float | None]] = {}
        for i, name in enumerate(("pod_cpu", "pod_memory")):
            for s in found[name]:
                k = key(s.metric.get("namespace", ""), s.metric.get("pod", ""))
                pods.setdefault(k, [None, None])[i] = float(s.value[1])
        usage.pods = {k: (v[0], v[1]) for k, v in pods.items()}
        nodes: dict[str, list[float | None]] = {}
        for i, name in enumerate(("node_cpu", "node_memory")):
            for s in found[name]:
                nodes.setdefault(s.metric.get("node", ""), [None, None])[i] = float(s.value[1])
        usage.nodes = {n: NodeUsage(cpu=v[0], memory=v[1]) for n, v in nodes.items() if n}
        usage.volumes = _volumes(found)
        if not usage.pods:
            raise BadAnswer(
                "Prometheus has no cAdvisor container series (is it scraping the kubelets?)"
            )
        return usage


def _volumes(found: dict[str, list[_Sample]]) -> dict[str, VolumeUsage]:
    by_pvc: dict[str, dict[str, float]] = {}
    for name in ("pvc_used", "pvc_capacity", "pvc_available"):
        for s in found[name]:
            k = key(s.metric.get("namespace", ""), s.metric.get("persistentvolumeclaim", ""))
            by_pvc.setdefault(k, {})[name] = float(s.value[1])
    return {
        k: VolumeUsage(v["pvc_used"], v["pvc_capacity"], v["pvc_available"])
        for k, v in by_pvc.items()
        if len(v) == 3
    }


__all__ = ["QUERIES", "KubeError", "PrometheusUsage"]
