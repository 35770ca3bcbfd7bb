"""The Kubernetes manifests of deploy/kubernetes, built by ``kubectl kustomize`` once per run."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
OVERLAYS = sorted(
    str(p.parent.relative_to(KUBE / "overlays"))
    for p in (KUBE / "overlays").rglob("kustomization.yaml")
)
"""Every overlay, found on disk: a new one is built and checked without editing the tests."""

WORKLOADS = ("Deployment", "StatefulSet", "Job", "DaemonSet", "ReplicaSet")

Manifest = dict[str, Any]


def kustomize(path: Path) -> list[Manifest]:
    """``kubectl kustomize path`` as objects (kubectl is a test dependency)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is required: scripts/test-deps.d/k8s.sh")
    done = subprocess.run(
        [kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return [o for o in yaml.safe_load_all(done.stdout) if o]


_built: dict[str, list[Manifest]] = {}


def build(overlay: str) -> list[Manifest]:
    if overlay not in _built:
        _built[overlay] = kustomize(KUBE / "overlays" / overlay)
    return _built[overlay]


def pod_spec(obj: Manifest) -> Manifest | None:
    """The pod template's spec of a workload (None for other kinds)."""
    if obj["kind"] in WORKLOADS:
        spec: Manifest = obj["spec"]["template"]["spec"]
        return spec
    if obj["kind"] == "CronJob":
        spec = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        return spec
    return None


def pod_labels(obj: Manifest) -> dict[str, str]:
    template = obj["spec"]["template"] if obj["kind"] != "CronJob" else None
    assert template is not None
    labels: dict[str, str] = template["metadata"]["labels"]
    return labels


def one(objects: list[Manifest], kind: str, name: str) -> Manifest:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]
