"""The manifest a cluster admin applies so Lookout may read the cluster: a namespace, a
ServiceAccount, a read-only ClusterRole with exactly the verbs and resources Lookout uses,
its binding, and a long-lived token Secret (Kubernetes ≥ 1.24 no longer creates one)."""

from __future__ import annotations

from typing import Any

import yaml

from lookout.sources.kube.resources import rbac_rules

NAMESPACE = "lookout-monitoring"
ACCOUNT = "lookout"
SECRET = "lookout-token"


def manifest_objects(namespace: str = NAMESPACE) -> list[dict[str, Any]]:
    labels = {"app.kubernetes.io/name": "lookout", "app.kubernetes.io/component": "monitoring"}
    role = f"{ACCOUNT}-read-only"
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": labels},
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": ACCOUNT, "namespace": namespace, "labels": labels},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": role, "labels": labels},
            "rules": rbac_rules(),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": role, "labels": labels},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role,
            },
            "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": namespace}],
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/service-account-token",
            "metadata": {
                "name": SECRET,
                "namespace": namespace,
                "labels": labels,
                "annotations": {"kubernetes.io/service-account.name": ACCOUNT},
            },
        },
    ]


def manifest(namespace: str = NAMESPACE) -> str:
    head = (
        "# Lookout: read-only access for Kubernetes monitoring.\n"
        "# Apply: lookout kube rbac | kubectl apply -f -\n"
        f"# Token: kubectl -n {namespace} get secret {SECRET}"
        " -o jsonpath='{.data.token}' | base64 -d\n"
    )
    docs = [yaml.safe_dump(o, sort_keys=False) for o in manifest_objects(namespace)]
    return head + "---\n" + "---\n".join(docs)
