"""Connected Kubernetes clusters (table ``kube_clusters``) and what their checks remember
(table ``kube_state``)."""

from __future__ import annotations

from dataclasses import dataclass
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
            raise Conflict(
                f"cluster {row['name']!r} exists; change its settings with "
                f"`lookout kube set {row['name']} …` (PATCH), or pick another name"
            )
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
        conn.execute(sa.delete(t.kube_state).where(t.kube_state.c.cluster == name))


@dataclass(frozen=True)
class SavedState:
    memory: bytes
    """msgpack of the checks' ``Memory``."""
    vanished: dict[str, float]
    """Host → when its object was first missed (the grace timers of the mapping)."""
    saved_at: float


def save_state(db: sa.Engine, cluster: str, state: SavedState) -> None:
    """Replace ``cluster``'s saved state (one row, one transaction)."""
    row = {
        "cluster": cluster,
        "memory": state.memory,
        "vanished": state.vanished,
        "saved_at": state.saved_at,
    }
    with db.begin() as conn:
        conn.execute(sa.delete(t.kube_state).where(t.kube_state.c.cluster == cluster))
        conn.execute(t.kube_state.insert().values(row))


def load_states(db: sa.Engine) -> dict[str, SavedState]:
    """Every cluster's saved state, by cluster name."""
    with db.connect() as conn:
        rows = conn.execute(sa.select(t.kube_state))
        return {
            r.cluster: SavedState(bytes(r.memory), dict(r.vanished or {}), r.saved_at) for r in rows
        }
