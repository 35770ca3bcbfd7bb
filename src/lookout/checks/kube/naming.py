"""Host names and labels of Kubernetes objects.

``k8s:<cluster>`` for the cluster, ``k8s:<cluster>:node:<node>``, ``k8s:<cluster>:ns:<ns>``,
``k8s:<cluster>:<kind>:<ns>:<name>`` for workloads and opt-in pods. Host names may not hold
``/``; Kubernetes names never do, and ``:`` keeps them readable and unambiguous.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

PREFIX = "k8s"
LABEL_PREFIX = "k8s/label/"
MAX_NAME = 255


def _fit(name: str) -> str:
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return f"{name[: MAX_NAME - 13]}~{digest}"


def cluster_host(cluster: str) -> str:
    return f"{PREFIX}:{cluster}"


def node_host(cluster: str, node: str) -> str:
    return _fit(f"{PREFIX}:{cluster}:node:{node}")


def namespace_host(cluster: str, namespace: str) -> str:
    return _fit(f"{PREFIX}:{cluster}:ns:{namespace}")


def object_host(cluster: str, kind: str, namespace: str, name: str) -> str:
    return _fit(f"{PREFIX}:{cluster}:{kind.lower()}:{namespace}:{name}")


def labels(
    cluster: str, kind: str, namespace: str = "", own: Mapping[str, str] | None = None, **extra: str
) -> dict[str, str]:
    """Host labels: cluster, object kind, namespace, extras (``node``, ``name``, ``workload``:
    the web UI draws an object's place in the cluster from them), and the object's own labels
    under ``k8s/label/``."""
    out = {"k8s/cluster": cluster, "k8s/kind": kind}
    if namespace:
        out["k8s/namespace"] = namespace
    for k, v in extra.items():
        out[f"k8s/{k}"] = v
    for k, v in (own or {}).items():
        out[LABEL_PREFIX + k] = v
    return out
