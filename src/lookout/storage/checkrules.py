"""Check rules (table ``check_rules``), stored as the whole ordered list.

Rules are few and their order matters, so every change writes the list in one transaction:
positions 10, 20, … in order, ``created_at`` kept for names that stay. The specs are plain
JSON here; the layer above validates them (``checks.active.rules.CheckRule``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from lookout.storage import tables as t

_R = t.check_rules.c


def list_rules(db: sa.Engine) -> list[dict[str, Any]]:
    """Every rule in order: ``{"spec", "created_at", "updated_at"}``."""
    with db.connect() as conn:
        rows = conn.execute(sa.select(t.check_rules).order_by(_R.position, _R.name))
        return [
            {"spec": r.spec, "created_at": r.created_at, "updated_at": r.updated_at} for r in rows
        ]


def write_rules(
    db: sa.Engine, specs: Sequence[dict[str, Any]], changed: set[str], now: float
) -> None:
    """Make the table hold ``specs`` in this order; ``changed`` names get ``updated_at = now``."""
    with db.begin() as conn:
        old = {r.name: (r.created_at, r.updated_at) for r in conn.execute(sa.select(t.check_rules))}
        conn.execute(sa.delete(t.check_rules))
        rows = []
        for i, spec in enumerate(specs):
            name = spec["name"]
            created, updated = old.get(name, (now, now))
            rows.append(
                {
                    "name": name,
                    "position": (i + 1) * 10,
                    "spec": spec,
                    "created_at": created,
                    "updated_at": now if name in changed else updated,
                }
            )
        if rows:
            conn.execute(t.check_rules.insert(), rows)
