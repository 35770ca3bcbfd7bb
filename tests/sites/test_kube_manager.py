"""Adding a cluster is all or nothing (issue 16): credentials that cannot be used raise
ValidationError naming the field before anything is stored, and a failure after the row was
stored removes it again. The site in-process, not started."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from lookout.errors import ValidationError
from lookout.sites.kube import Cluster, KubeManager
from lookout.sites.site import Site, init_site
from lookout.storage import kube as store


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
