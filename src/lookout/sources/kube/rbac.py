"""The manifest a cluster admin applies so Lookout may read the cluster: a namespace, a
ServiceAccount, a read-only ClusterRole with exactly the verbs and resources Lookout uses,
its binding, and a long-lived token Secret (Kubernetes ≥ 1.24 no longer creates one).

And checking that a token has those permissions with few requests: one
SelfSubjectRulesReview, asked for a namespace that does not exist (so the rules it lists are
the cluster-wide grants only: no RoleBinding can live there), and a SelfSubjectAccessReview
for each permission the rules do not cover (or all, where the server cannot list rules)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import msgspec
import yaml

from lookout.sources.kube.client import KubeClient
from lookout.sources.kube.errors import ApiStatus, BadAnswer
from lookout.sources.kube.resources import Permission, rbac_rules

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


PROBE_NAMESPACE = "lookout-cluster-scope-probe"
"""A namespace that does not exist: its rules review holds only cluster-wide grants."""


class _Rule(msgspec.Struct, kw_only=True, rename="camel"):
    verbs: list[str] = []
    api_groups: list[str] = []
    resources: list[str] = []
    resource_names: list[str] = []


class _Rules(msgspec.Struct, kw_only=True, rename="camel"):
    resource_rules: list[_Rule] = []
    incomplete: bool = False
    evaluation_error: str = ""


def covers(rule: _Rule, perm: Permission) -> bool:
    """Whether ``rule`` grants ``perm`` on every object (a rule naming objects does not)."""
    res = f"{perm.resource}/{perm.subresource}" if perm.subresource else perm.resource
    return (
        not rule.resource_names
        and ("*" in rule.verbs or perm.verb in rule.verbs)
        and ("*" in rule.api_groups or perm.group in rule.api_groups)
        and ("*" in rule.resources or res in rule.resources)
    )


async def check_permissions(
    client: KubeClient, perms: Sequence[Permission]
) -> list[tuple[Permission, bool, str]]:
    """(permission, allowed, how we know) for each of ``perms``: granted by the rules review,
    else answered by an access review (which also covers authorizers that cannot list rules,
    such as webhooks: their review is ``incomplete``)."""
    try:
        raw = await client.rules_review(PROBE_NAMESPACE)
        rules = msgspec.convert(raw, _Rules).resource_rules
    except (ApiStatus, BadAnswer, msgspec.ValidationError):
        rules = []  # an older or restricted server: ask one permission at a time
    out: dict[Permission, tuple[bool, str]] = {}
    for p in perms:
        if any(covers(r, p) for r in rules):
            out[p] = (True, "granted cluster-wide (rules review)")
    rest = [p for p in perms if p not in out]
    answers = await asyncio.gather(*(client.can(p) for p in rest))
    out.update(zip(rest, answers, strict=True))
    return [(p, *out[p]) for p in perms]
