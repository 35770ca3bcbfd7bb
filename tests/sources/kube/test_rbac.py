"""Permissions checked with one SelfSubjectRulesReview, falling back to access reviews, against
the local API server."""

from __future__ import annotations

import pytest
from kubeapi import KubeApi

from lookout.sources.kube.client import KubeClient
from lookout.sources.kube.credentials import Credentials
from lookout.sources.kube.rbac import check_permissions
from lookout.sources.kube.resources import Permission, required_permissions

pytestmark = pytest.mark.integration
RULES = "POST /apis/authorization.k8s.io/v1/selfsubjectrulesreviews?"
ACCESS = "POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews?"


async def _check(api: KubeApi, creds: Credentials) -> list[tuple[Permission, bool, str]]:
    client = KubeClient(creds)
    try:
        return await check_permissions(client, required_permissions())
    finally:
        await client.aclose()


async def test_all_granted_takes_one_rules_review(api: KubeApi, creds: Credentials) -> None:
    got = await _check(api, creds)
    assert all(ok for _, ok, _ in got)
    assert {why for _, _, why in got} == {"granted cluster-wide (rules review)"}
    assert api.requests == [RULES]


async def test_uncovered_permissions_are_asked_one_by_one(api: KubeApi, creds: Credentials) -> None:
    api.tokens["partial"] = {"list pods", "watch pods"}
    partial = Credentials(server=creds.server, token="partial", ca_data=creds.ca_data)
    got = {str(p): (ok, why) for p, ok, why in await _check(api, partial)}
    assert got["list pods"] == (True, "granted cluster-wide (rules review)")
    assert got["get nodes/proxy"] == (False, "no RBAC policy matched")
    assert got["list cronjobs (batch)"] == (False, "no RBAC policy matched")
    assert api.requests.count(RULES) == 1
    assert api.requests.count(ACCESS) == len(required_permissions()) - 2


async def test_without_rules_reviews_every_permission_is_asked(
    api: KubeApi, creds: Credentials
) -> None:
    api.rules_reviews = False
    got = await _check(api, creds)
    assert all(ok for _, ok, _ in got)
    assert api.requests.count(ACCESS) == len(required_permissions())
