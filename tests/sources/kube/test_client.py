"""The Kubernetes client against the local HTTPS API server: TLS, auth, paging, watches."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kubeapi import KubeApi
from kubedata import TOKEN, feed_nri, need_fixtures

from lookout.sources.kube.client import KubeClient, Timeouts
from lookout.sources.kube.credentials import Credentials
from lookout.sources.kube.errors import (
    Forbidden,
    Gone,
    ServerError,
    TlsFailure,
    Unauthorized,
    Unreachable,
)
from lookout.sources.kube.resources import BY_NAME

pytestmark = pytest.mark.integration


async def test_version_and_health(creds: Credentials) -> None:
    client = KubeClient(creds)
    try:
        assert await client.version() == "v1.35.0"
        assert await client.health("/readyz") == (200, "ok")
    finally:
        await client.aclose()


async def test_tls_is_verified_against_the_cluster_ca(creds: Credentials) -> None:
    client = KubeClient(Credentials(server=creds.server, token=TOKEN))  # system CAs only
    try:
        with pytest.raises(TlsFailure, match="TLS: unable to get local issuer certificate") as e:
            await client.version()
        assert (e.value.code, e.value.request) == (20, "GET /version")
    finally:
        await client.aclose()
    insecure = KubeClient(Credentials(server=creds.server, token=TOKEN, insecure=True))
    try:
        assert await insecure.version() == "v1.35.0"
    finally:
        await insecure.aclose()


async def test_bad_token_is_unauthorized(creds: Credentials) -> None:
    client = KubeClient(Credentials(server=creds.server, token="wrong", ca_data=creds.ca_data))
    try:
        with pytest.raises(Unauthorized, match="401"):
            await client.version()
    finally:
        await client.aclose()


async def test_list_pages_with_continue(api: KubeApi, creds: Credentials) -> None:
    need_fixtures()
    feed_nri(api)
    client = KubeClient(creds)
    try:
        pods, version = await client.list_all(BY_NAME["pods"], page=5)
    finally:
        await client.aclose()
    pages = [r for r in api.requests if r.startswith("GET /api/v1/pods")]
    assert len(pods) == 25
    assert len(pages) == 5
    assert "continue=" in pages[1]
    assert version == str(api.rv)
    names = {p.metadata.name for p in pods}
    assert "coredns-7d764666f9-qdcxt" in names


async def test_items_null_and_denied_and_500(api: KubeApi, creds: Credentials) -> None:
    api.null_items.add("cronjobs")
    api.tokens["limited"] = {"list pods"}
    api.fail["/api/v1/nodes"] = 500
    client = KubeClient(creds)
    limited = KubeClient(Credentials(server=creds.server, token="limited", ca_data=creds.ca_data))
    try:
        assert await client.list_all(BY_NAME["cronjobs"]) == ([], str(api.rv))
        with pytest.raises(ServerError, match="500"):
            await client.list_all(BY_NAME["nodes"])
        with pytest.raises(Forbidden, match='cannot list resource "deployments"'):
            await limited.list_all(BY_NAME["deployments"])
    finally:
        await client.aclose()
        await limited.aclose()


async def test_hanging_server_times_out(api: KubeApi, creds: Credentials) -> None:
    api.hang.add("/version")
    client = KubeClient(creds, timeouts=Timeouts(connect=2, read=0.3))
    try:
        with pytest.raises(Unreachable, match="timed out"):
            await client.version()
    finally:
        await client.aclose()


def _pod(name: str, ns: str = "default", phase: str = "Running") -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": ns}, "status": {"phase": phase}}


async def test_watch_streams_changes_bookmarks_and_deletes(
    api: KubeApi, creds: Credentials
) -> None:
    api.add(_pod("a"))
    client = KubeClient(creds)
    try:
        _, version = await client.list_all(BY_NAME["pods"])
        api.change(_pod("b"))
        api.change(_pod("a", phase="Failed"))
        api.delete("pods", "default", "b")
        seen: list[tuple[str, str]] = []
        async for ev in client.watch(BY_NAME["pods"], version, timeout_seconds=1):
            seen.append((ev.type, ev.object.metadata.name if ev.object else ev.resource_version))
            if ev.type == "BOOKMARK":
                break
    finally:
        await client.aclose()
    assert seen[:3] == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]
    assert seen[3][0] == "BOOKMARK"
    assert int(seen[3][1]) >= api.rv


@pytest.mark.parametrize("as_event", [True, False])
async def test_watch_too_old_version_is_gone(
    api: KubeApi, creds: Credentials, as_event: bool
) -> None:
    api.gone_as_event = as_event
    api.add(_pod("a"))
    client = KubeClient(creds)
    try:
        _, version = await client.list_all(BY_NAME["pods"])
        api.compact()
        with pytest.raises(Gone, match="too old resource version"):
            async for _ in client.watch(BY_NAME["pods"], version, timeout_seconds=1):
                pass
    finally:
        await client.aclose()


async def test_node_stats_and_access_review(api: KubeApi, creds: Credentials) -> None:
    need_fixtures()
    feed_nri(api)
    api.tokens["limited"] = {"list pods"}
    client = KubeClient(creds)
    limited = KubeClient(Credentials(server=creds.server, token="limited", ca_data=creds.ca_data))
    try:
        stats = await client.node_stats("datagen-1-35")
        assert stats.node.node_name == "datagen-1-35"
        assert stats.node.memory is not None
        assert stats.node.memory.working_set_bytes
        assert len(stats.pods or []) == 17
        from lookout.sources.kube.resources import Permission

        assert (await limited.can(Permission("list", "pods")))[0] is True
        allowed, reason = await limited.can(Permission("get", "nodes", "", "proxy"))
        assert not allowed
        assert "RBAC" in reason
    finally:
        await client.aclose()
        await limited.aclose()


async def test_watch_stops_on_cancel(api: KubeApi, creds: Credentials) -> None:
    client = KubeClient(creds)
    try:
        _, version = await client.list_all(BY_NAME["pods"])

        async def consume() -> None:
            async for _ in client.watch(BY_NAME["pods"], version, timeout_seconds=30):
                pass

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await client.aclose()
