"""Batch sync of discovered objects and the cluster table, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.errors import Conflict, NotFound
from lookout.storage import kube
from lookout.storage import tables as t
from lookout.storage.database import migrate, open_database
from lookout.storage.series import SeriesStore
from lookout.storage.store import SiteStore

pytestmark = pytest.mark.integration


def test_sync_objects_upserts_and_removes_in_one_go(database_url: str) -> None:
    db = open_database(database_url)
    try:
        migrate(db)
        store = SiteStore(db, SeriesStore())
        hosts = [HostConfig(name=f"k8s:c:node:n{i}", labels={"k8s/cluster": "c"}) for i in range(3)]
        services = [ServiceConfig(host=h.name, name=s) for h in hosts for s in ("CPU", "Memory")]
        store.sync_objects(hosts, services, [], [], at=100.0)
        changed = HostConfig(name="k8s:c:node:n0", labels={"k8s/cluster": "c", "k8s/label/x": "y"})
        store.sync_objects(
            [changed],
            [ServiceConfig(host="k8s:c:node:n0", name="CPU", max_check_attempts=5)],
            [("k8s:c:node:n1", "Memory")],
            ["k8s:c:node:n2"],
            at=200.0,
        )
        loaded = store.load()
        names = sorted(h.name for h in loaded.hosts)
        assert names == ["k8s:c:node:n0", "k8s:c:node:n1"]
        n0 = next(h for h in loaded.hosts if h.name == "k8s:c:node:n0")
        assert n0.labels == {"k8s/cluster": "c", "k8s/label/x": "y"}
        svcs = {(s.host, s.name): s for s in loaded.services}
        assert set(svcs) == {
            ("k8s:c:node:n0", "CPU"),
            ("k8s:c:node:n0", "Memory"),
            ("k8s:c:node:n1", "CPU"),
        }
        assert svcs[("k8s:c:node:n0", "CPU")].max_check_attempts == 5
        with db.connect() as conn:
            created = conn.execute(
                sa.select(t.hosts.c.created_at, t.hosts.c.updated_at).where(
                    t.hosts.c.name == "k8s:c:node:n0"
                )
            ).one()
        assert tuple(created) == (100.0, 200.0)  # an update keeps the creation time
    finally:
        db.dispose()


def test_cluster_rows(database_url: str) -> None:
    db = open_database(database_url)
    try:
        migrate(db)
        row = {
            "name": "prod",
            "server": "https://k:6443",
            "ca_data": "",
            "token_encrypted": "gAAA…",
            "token_file": None,
            "client_cert": "",
            "client_key_encrypted": None,
            "insecure": False,
            "options": {"usage": "kubelet", "params": {"pending_levels": [60, 120]}},
            "created_at": 1.0,
            "updated_at": 1.0,
        }
        kube.add_cluster(db, row)
        with pytest.raises(Conflict, match="exists"):
            kube.add_cluster(db, row)
        [got] = kube.list_clusters(db)
        assert got["options"]["params"] == {"pending_levels": [60, 120]}
        kube.delete_cluster(db, "prod")
        with pytest.raises(NotFound):
            kube.delete_cluster(db, "prod")
    finally:
        db.dispose()
