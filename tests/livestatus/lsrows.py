"""A small table of plain rows for the pure filter and stats tests."""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from lookout.livestatus.columns import col, index

COLUMNS = index(
    [
        col("name", "string", itemgetter("name")),
        col("state", "int", itemgetter("state")),
        col("load", "float", itemgetter("load")),
        col("groups", "list", itemgetter("groups")),
        col("members", "list", itemgetter("members")),
    ]
)
ROWS: list[dict[str, Any]] = [
    {"name": "web01", "state": 0, "load": 0.5, "groups": ["web", "Prod"], "members": []},
    {"name": "Web02", "state": 2, "load": 3.0, "groups": ["web"], "members": [("h", "s")]},
    {"name": "db01", "state": 1, "load": 1.5, "groups": [], "members": [("db01", "Disk /")]},
]
