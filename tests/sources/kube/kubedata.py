"""The recorded clusters, fed into the local API server (read in place from ../shared)."""

from __future__ import annotations

import json

import pytest
from kubeapi import FIXTURES, KubeApi, load_items

TOKEN = "t0k3n-for-tests"
NRI = FIXTURES / "nri-kubernetes"
TROUBLESHOOT = FIXTURES / "troubleshoot" / "analyze-files"


def need_fixtures() -> None:
    if not FIXTURES.is_dir():
        pytest.skip(f"recorded fixtures not found at {FIXTURES} (../shared is absent)")


def feed_nri(api: KubeApi, version: str = "1_35") -> None:
    """A real minikube cluster recorded by nri-kubernetes: nodes, namespaces, pods, stats."""
    base = NRI / version
    for name in ("nodes.yaml", "namespaces.yaml", "pods.yaml"):
        api.add_many(load_items(base / name))
    summary = json.loads((base / "kubelet" / "stats" / "summary").read_text())
    api.stats[summary["node"]["nodeName"]] = summary
    api.version = f"v1.{version.split('_')[1]}.0"


FAILURE_CASES = (
    "message-oomkill-pod",
    "message-image-pull-fail",
    "message-pod-crashloop-backoff",
    "message-pod-init-crashloop-backoff",
    "message-pending-pod-resources",
    "message-pending-node-affinity",
    "message-container-creating-failed-mount",
)


def feed_troubleshoot(api: KubeApi) -> None:
    """Real failure states from support bundles (troubleshoot), with their events."""
    for case in FAILURE_CASES:
        api.add_many(load_items(TROUBLESHOOT / "pods" / f"{case}.json"))
    for f in sorted((TROUBLESHOOT / "events").glob("*.json")):
        items = load_items(f)
        # the recorded events sit in "default"; the pods each in their case's namespace
        for item in items:
            name = item.get("involvedObject", {}).get("name", "")
            if name.startswith(("troubleshoot-copyfromhost", "no-image", "init-demo2")):
                item["metadata"]["namespace"] = _ns_of(name)
        api.add_many(items)
    for sub in ("deployments", "statefulsets", "replicasets", "jobs"):
        for f in sorted((TROUBLESHOOT / sub).glob("*.json")):
            api.add_many(load_items(f))
    api.add_many(load_items(TROUBLESHOOT / "support-bundle/cluster-resources/pvcs/default.json"))
    api.add_many(load_items(TROUBLESHOOT / "nodes.json"))


def _ns_of(pod_name: str) -> str:
    if pod_name.startswith("troubleshoot-copyfromhost"):
        return "message-container-creating-failed-mount"
    if pod_name.startswith("no-image"):
        return "message-image-pull-fail"
    return "message-pod-init-crashloop-backoff"
