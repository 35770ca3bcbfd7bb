"""The API resources Lookout lists and watches, and the permissions it needs for that."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from lookout.checks.kube import sections as s


@dataclass(frozen=True, slots=True)
class Resource:
    name: str
    """Plural resource name, also the attribute of :class:`~lookout.checks.kube.view.Objects`."""
    group: str
    """API group ("" for core)."""
    version: str
    model: type[Any]
    namespaced: bool = True
    older: str = ""
    """A version to list instead where the server does not serve ``version`` (404), whose
    fields Lookout reads are the same (``autoscaling/v2beta2`` before Kubernetes 1.23)."""

    def fallback(self) -> Resource | None:
        return replace(self, version=self.older, older="") if self.older else None

    @property
    def path(self) -> str:
        base = "/api/v1" if not self.group else f"/apis/{self.group}/{self.version}"
        return f"{base}/{self.name}"


RESOURCES: tuple[Resource, ...] = (
    Resource("nodes", "", "v1", s.Node, namespaced=False),
    Resource("namespaces", "", "v1", s.Namespace, namespaced=False),
    Resource("pods", "", "v1", s.Pod),
    Resource("resourcequotas", "", "v1", s.ResourceQuota),
    Resource("persistentvolumeclaims", "", "v1", s.PersistentVolumeClaim),
    Resource("deployments", "apps", "v1", s.Deployment),
    Resource("statefulsets", "apps", "v1", s.StatefulSet),
    Resource("daemonsets", "apps", "v1", s.DaemonSet),
    Resource("replicasets", "apps", "v1", s.ReplicaSet),
    Resource("jobs", "batch", "v1", s.Job),
    Resource("cronjobs", "batch", "v1", s.CronJob),
    Resource(
        "horizontalpodautoscalers", "autoscaling", "v2", s.HorizontalPodAutoscaler, older="v2beta2"
    ),
    Resource("poddisruptionbudgets", "policy", "v1", s.PodDisruptionBudget, older="v1beta1"),
    Resource("persistentvolumes", "", "v1", s.PersistentVolume, namespaced=False),
)
BY_NAME = {r.name: r for r in RESOURCES}


@dataclass(frozen=True, slots=True)
class Permission:
    verb: str
    resource: str
    group: str = ""
    subresource: str = ""

    def __str__(self) -> str:
        res = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        return f"{self.verb} {res}" + (f" ({self.group})" if self.group else "")


def required_permissions() -> list[Permission]:
    """Exactly what Lookout does: list and watch every resource above, get kubelet stats
    through the node proxy, list events (to name why a problem pod is stuck)."""
    perms = [Permission(v, r.name, r.group) for r in RESOURCES for v in ("list", "watch")]
    perms.append(Permission("get", "nodes", "", "proxy"))
    perms.append(Permission("list", "events", ""))
    return perms


def rbac_rules() -> list[dict[str, Any]]:
    """ClusterRole rules granting exactly :func:`required_permissions`."""
    groups: dict[str, list[str]] = {}
    for r in RESOURCES:
        groups.setdefault(r.group, []).append(r.name)
    rules: list[dict[str, Any]] = [
        {"apiGroups": [g], "resources": names, "verbs": ["list", "watch"]}
        for g, names in groups.items()
    ]
    rules.append({"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]})
    rules.append({"apiGroups": [""], "resources": ["events"], "verbs": ["list"]})
    return rules
