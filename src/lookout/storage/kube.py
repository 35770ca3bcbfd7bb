"""Connected Kubernetes clusters (table ``kube_clusters``)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from lookout.errors import Conflict, NotFound
from lookout.storage import tables as t


def add_cluster(db: sa.Engine, row: dict[str, Any]) -> None:
    with db.begin() as conn:
        exists = conn.execute(
            sa.select(t.kube_clusters.c.name).where(t.kube_clusters.c.name == row["name"])
        ).first()
        if exists:
            raise Conflict(f"cluster {row['name']!r} exists; remove it first or pick another name")
        conn.execute(t.kube_clusters.insert().values(row))


def list_clusters(db: sa.Engine) -> list[dict[str, Any]]:
    with db.connect() as conn:
        rows = conn.execute(sa.select(t.kube_clusters).order_by(t.kube_clusters.c.name))
        return [dict(r._mapping) for r in rows]


def update_cluster(db: sa.Engine, row: dict[str, Any]) -> None:
    """Replace the settings of the cluster ``row["name"]`` (its ``created_at`` stays)."""
    values = {k: v for k, v in row.items() if k not in ("name", "created_at")}
    with db.begin() as conn:
        done = conn.execute(
            sa.update(t.kube_clusters).where(t.kube_clusters.c.name == row["name"]).values(values)
        )
        if done.rowcount == 0:
            raise NotFound(f"no cluster named {row['name']!r}")


def delete_cluster(db: sa.Engine, name: str) -> None:
    with db.begin() as conn:
        done = conn.execute(sa.delete(t.kube_clusters).where(t.kube_clusters.c.name == name))
        if done.rowcount == 0:
            raise NotFound(f"no cluster named {name!r}")
