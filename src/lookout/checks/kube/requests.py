"""What pods ask for: effective requests and limits from their container specs."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import msgspec

from lookout.checks.kube.quantity import get, quantity
from lookout.checks.kube.sections import Pod

Requests = Callable[[Pod, str], float]
Limits = Callable[[Pod, str], float | None]


def pod_requests(pod: Pod, resource: str) -> float:
    """Effective request of a pod: sum of its containers, or the largest init container if
    that is more (what the scheduler reserves)."""
    spec = pod.spec
    total = sum(
        get(c.resources.requests if c.resources else None, resource) for c in spec.containers or ()
    )
    init = max(
        (
            get(c.resources.requests if c.resources else None, resource)
            for c in spec.init_containers or ()
        ),
        default=0.0,
    )
    return max(total, init)


def pod_limits(pod: Pod, resource: str) -> float | None:
    """Sum of container limits; None when any container has no limit (unbounded)."""
    total = 0.0
    for c in pod.spec.containers or ():
        lim = c.resources.limits if c.resources else None
        if not lim or resource not in lim:
            return None
        total += quantity(lim[resource])
    return total


def pod_resources(pod: Pod) -> tuple[float, float, float | None, float | None]:
    """(CPU request, memory request, CPU limit, memory limit) in one pass over the
    containers; a limit is None when any container has none."""
    cpu_r = mem_r = cpu_l = mem_l = 0.0
    no_cpu_l = no_mem_l = False
    for c in pod.spec.containers or ():
        res = c.resources
        req = res.requests if res is not None else None
        lim = res.limits if res is not None else None
        if req:
            cpu_r += quantity(req.get("cpu"))
            mem_r += quantity(req.get("memory"))
        if lim and "cpu" in lim:
            cpu_l += quantity(lim["cpu"])
        else:
            no_cpu_l = True
        if lim and "memory" in lim:
            mem_l += quantity(lim["memory"])
        else:
            no_mem_l = True
    if pod.spec.init_containers:
        cpu_r = max(cpu_r, pod_requests(pod, "cpu"))
        mem_r = max(mem_r, pod_requests(pod, "memory"))
    if not pod.spec.containers:
        no_cpu_l = no_mem_l = True
    return cpu_r, mem_r, None if no_cpu_l else cpu_l, None if no_mem_l else mem_l


class Cache:
    """Requests and limits per pod, computed once per evaluation (pods are read by cluster,
    node, namespace and workload checks alike)."""

    def __init__(self) -> None:
        self._facts: dict[int, tuple[float, float, float | None, float | None]] = {}

    def facts(self, pod: Pod) -> tuple[float, float, float | None, float | None]:
        got = self._facts.get(id(pod))
        if got is None:
            got = self._facts[id(pod)] = pod_resources(pod)
        return got

    def requests(self, pod: Pod, resource: str) -> float:
        facts = self.facts(pod)
        return (
            facts[0]
            if resource == "cpu"
            else facts[1]
            if resource == "memory"
            else pod_requests(pod, resource)
        )

    def limits(self, pod: Pod, resource: str) -> float | None:
        facts = self.facts(pod)
        return (
            facts[2]
            if resource == "cpu"
            else facts[3]
            if resource == "memory"
            else pod_limits(pod, resource)
        )


class Totals(msgspec.Struct, gc=False):
    """Requests, limits and usage summed over a set of pods (one resource pair each)."""

    pods: int = 0
    cpu_requests: float = 0.0
    memory_requests: float = 0.0
    cpu_limits: float | None = 0.0
    """None: some pod has no CPU limit (unbounded)."""
    memory_limits: float | None = 0.0
    cpu_used: float | None = None
    """None: no usage known for any of the pods."""
    memory_used: float | None = None


def totals(
    pods: Iterable[Pod],
    cache: Cache,
    usage: dict[str, tuple[float | None, float | None]] | None = None,
) -> Totals:
    """One pass over ``pods``: sums of requests, limits and (when given) usage."""
    t = Totals()
    cpu_l: float | None = 0.0
    mem_l: float | None = 0.0
    cpu_u: float | None = None
    mem_u: float | None = None
    n = 0
    cpu_r = mem_r = 0.0
    for pod in pods:
        n += 1
        cr, mr, cl, ml = cache.facts(pod)
        cpu_r += cr
        mem_r += mr
        cpu_l = None if cpu_l is None or cl is None else cpu_l + cl
        mem_l = None if mem_l is None or ml is None else mem_l + ml
        if usage:
            m = pod.metadata
            u = usage.get(f"{m.namespace}/{m.name}")
            if u is not None:
                if u[0] is not None:
                    cpu_u = u[0] + (cpu_u or 0.0)
                if u[1] is not None:
                    mem_u = u[1] + (mem_u or 0.0)
    t.pods, t.cpu_requests, t.memory_requests = n, cpu_r, mem_r
    t.cpu_limits = cpu_l if n else None
    t.memory_limits = mem_l if n else None
    t.cpu_used, t.memory_used = cpu_u, mem_u
    return t
