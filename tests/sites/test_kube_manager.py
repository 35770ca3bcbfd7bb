"""Adding a cluster is all or nothing (issue 16): credentials that cannot be used raise
ValidationError naming the field before anything is stored, and a failure after the row was
stored removes it again. The site in-process, not started."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from lookout.errors import NotFound, ValidationError
from lookout.sites.kube import Cluster, KubeManager
from lookout.sites.kube_settings import Refused
from lookout.sites.site import Site, init_site
from lookout.storage import kube as store
from lookout.wire.clusters import ClusterPatch


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    init_site(tmp_path / "site", listen="127.0.0.1:1")
    s = Site(tmp_path / "site")
    yield s
    await s.kube.stop()
    s.db.dispose()


def _row(kube: KubeManager, name: str, token: str) -> dict[str, Any]:
    return {
        "name": name,
        "server": "https://127.0.0.1:1",
        "ca_data": "",
        "token_encrypted": kube.seal(token),
        "token_file": None,
        "client_cert": "",
        "client_key_encrypted": None,
        "insecure": False,
        "options": {"usage": "none"},
        "created_at": 0.0,
        "updated_at": 0.0,
    }


async def test_unusable_token_is_refused_before_it_is_stored(site: Site) -> None:
    with pytest.raises(ValidationError) as refused:
        await site.kube.add(_row(site.kube, "c1", "tökén"))
    assert refused.value.loc == ("token",)
    assert store.list_clusters(site.db) == []
    assert site.kube.clusters == {}
    await site.kube.add(_row(site.kube, "c1", "good-token"))
    assert [r["name"] for r in store.list_clusters(site.db)] == ["c1"]
    assert set(site.kube.clusters) == {"c1"}


class LaunchFails(KubeManager):
    """Starting the monitor fails after the row was stored."""

    def _launch(self, cluster: Cluster) -> None:
        raise RuntimeError("cannot start")


async def test_a_failure_after_storing_removes_the_row(site: Site) -> None:
    kube = LaunchFails(site, site.settings.kubernetes, site.dir, site.clock)
    with pytest.raises(RuntimeError, match="cannot start"):
        await kube.add(_row(kube, "c2", "good-token"))
    assert store.list_clusters(site.db) == []
    assert kube.clusters == {}
    site.kube = KubeManager(site, site.settings.kubernetes, site.dir, site.clock)
    await site.kube.add(_row(site.kube, "c2", "good-token"))  # no 409: nothing was left


async def test_update_replaces_the_monitor_and_a_refused_patch_changes_nothing(
    site: Site,
) -> None:
    await site.kube.add(_row(site.kube, "c3", "good-token"))
    before = site.kube.clusters["c3"]
    with pytest.raises(Refused) as refused:
        await site.kube.update("c3", ClusterPatch(usage="prometheus"))
    assert refused.value.problems[0][0] == "prometheus_url"
    assert site.kube.clusters["c3"] is before
    assert store.list_clusters(site.db)[0]["options"] == {"usage": "none"}

    row = await site.kube.update("c3", ClusterPatch(interval=42, token="new-token"))
    after = site.kube.clusters["c3"]
    assert after is not before
    assert before.task is not None
    assert before.task.done()
    assert after.monitor.spec.interval == 42
    assert after.monitor.spec.creds.token == "new-token"
    [stored] = store.list_clusters(site.db)
    assert stored["options"]["interval"] == 42
    assert stored["created_at"] == 0.0
    assert row["updated_at"] > 0
    assert "new-token" not in str(stored)
    with pytest.raises(NotFound):
        await site.kube.update("nope", ClusterPatch(interval=5))
