"""Usage from the kubelets: ``/stats/summary`` of every node, read through the API server's
node proxy (so only the API server needs to be reachable)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from lookout.checks.kube.sections import StatsSummary
from lookout.checks.kube.view import NodeUsage, Usage, VolumeUsage, key
from lookout.sources.kube.client import KubeClient
from lookout.sources.kube.errors import KubeError

CONCURRENCY = 20
"""Nodes read at the same time."""


def add_summary(usage: Usage, node: str, summary: StatsSummary) -> None:
    """Fold one node's stats into ``usage``."""
    n = summary.node
    fs = n.fs
    usage.nodes[node] = NodeUsage(
        cpu=n.cpu.usage_nano_cores / 1e9 if n.cpu and n.cpu.usage_nano_cores is not None else None,
        memory=n.memory.working_set_bytes if n.memory else None,
        fs_used=fs.used_bytes if fs else None,
        fs_capacity=fs.capacity_bytes if fs else None,
    )
    for pod in summary.pods or ():
        ref = pod.pod_ref
        cpu = (
            pod.cpu.usage_nano_cores / 1e9
            if pod.cpu and pod.cpu.usage_nano_cores is not None
            else None
        )
        mem = pod.memory.working_set_bytes if pod.memory else None
        usage.pods[key(ref.namespace, ref.name)] = (cpu, mem)
        for vol in pod.volume or ():
            if vol.pvc_ref is None or vol.capacity_bytes is None or vol.used_bytes is None:
                continue
            usage.volumes[key(vol.pvc_ref.namespace, vol.pvc_ref.name)] = VolumeUsage(
                used=vol.used_bytes,
                capacity=vol.capacity_bytes,
                available=vol.available_bytes
                if vol.available_bytes is not None
                else vol.capacity_bytes - vol.used_bytes,
            )


async def kubelet_health(
    client: KubeClient, nodes: Iterable[str]
) -> dict[str, tuple[int | None, str]]:
    """``/healthz`` of every kubelet through the API server's node proxy."""
    gate = asyncio.Semaphore(CONCURRENCY)
    names = list(nodes)

    async def one(node: str) -> tuple[int | None, str]:
        async with gate:
            return await client.node_health(node)

    answers = await asyncio.gather(*(one(n) for n in names))
    return dict(zip(names, answers, strict=True))


async def from_kubelets(client: KubeClient, nodes: Iterable[str]) -> Usage:
    usage = Usage(source="kubelet")
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(node: str) -> None:
        async with gate:
            try:
                summary = await client.node_stats(node)
            except KubeError as exc:
                usage.node_errors[node] = str(exc)
                return
        add_summary(usage, node, summary)

    await asyncio.gather(*(one(n) for n in nodes))
    return usage
