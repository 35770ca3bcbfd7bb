"""What an availability report reads from the event log: per object, its last state change
before the period, what changed within it, and the downtimes that covered it at its start.

The database shapes the rows (kind, hard, downtime id as numbers) and orders them by object
along the ``(host, service, at)`` index, so Python only groups them: a month of a big site is
over a million rows.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from lookout.domain.availability import DT_END, DT_START, STATE, Change
from lookout.domain.events import Event, EventType
from lookout.storage import tables as t

Key = tuple[str, str]
HOST_FILTER_LIMIT = 500
"""Above this many hosts the query reads every object and the caller keeps what it needs."""

SCAN_SHARE = 0.25
"""Share of the event log a period must cover for a table scan instead of the time index."""

_STATE = str(EventType.STATE_CHANGE)
_DT_START = str(EventType.DOWNTIME_START)
_DT_ENDS = (str(EventType.DOWNTIME_END), str(EventType.DOWNTIME_CANCEL))
_DOWNTIME_TYPES = (_DT_START, *_DT_ENDS)
_JSON_FIELD = {
    "sqlite": "json_extract(data, '$.{0}')",
    "postgresql": "(data->>'{0}')",
}


@dataclass(slots=True)
class ReportEvents:
    initial: dict[Key, tuple[int, bool]] = field(default_factory=dict)
    """Last state change before the period: (state, hard)."""
    changes: dict[Key, list[Change]] = field(default_factory=dict)
    """Within the period, in time order: state changes and downtime starts/ends."""
    at_start: dict[Key, set[int]] = field(default_factory=dict)
    """Downtime ids covering the object (its own) when the period starts."""
    covers_services: set[int] = field(default_factory=set)
    """Ids of host downtimes that include the host's services."""


def read_report_events(
    db: sa.Engine,
    hosts: Collection[str],
    start: float,
    end: float,
    recent: Iterable[Event] = (),
) -> ReportEvents:
    """Events of the objects of ``hosts`` that an availability report over [start, end)
    needs; ``recent``: events applied but not yet in the table (the runner's)."""
    out = ReportEvents()
    where_host = ""
    params: dict[str, Any] = {"start": start, "end": end, "state": _STATE, "dts": _DT_START}
    params.update({f"d{i}": k for i, k in enumerate(_DOWNTIME_TYPES)})
    if len(hosts) <= HOST_FILTER_LIMIT:
        names = sorted(hosts)
        if not names:
            return out
        where_host = " AND host IN (" + ", ".join(f":h{i}" for i in range(len(names))) + ")"
        params.update({f"h{i}": n for i, n in enumerate(names)})
    ev = t.events.name
    types = ", ".join(f":d{i}" for i in range(len(_DOWNTIME_TYPES)))
    with db.connect() as conn:
        field_of = _JSON_FIELD.get(conn.dialect.name, _JSON_FIELD["sqlite"]).format
        dt_id = f"CAST(COALESCE({field_of('downtime_id')}, '0') AS BIGINT)"
        covers = f"CASE WHEN {field_of('include_services')} IN ('true', '1', 1) THEN 1 ELSE 0 END"
        last_before = (
            f"SELECT e.host, e.service, e.state, e.state_type FROM {ev} e JOIN ("
            f" SELECT MAX(id) AS id FROM {ev} WHERE type = :state AND at < :start{where_host}"
            " GROUP BY host, service) last ON e.id = last.id"
        )
        for host, service, state, state_type in _rows(conn, last_before, params):
            out.initial[(host, service)] = (int(state or 0), state_type == "hard")
        before = (
            f"SELECT host, service, type, {dt_id}, {covers} FROM {ev}"
            f" WHERE type IN ({types}) AND at < :start{where_host} ORDER BY id"
        )
        for host, service, kind, downtime, covering in _rows(conn, before, params):
            active = out.at_start.setdefault((host, service), set())
            (active.add if kind == _DT_START else active.discard)(downtime)
            if covering:
                out.covers_services.add(downtime)
        at = _time_column(conn, start, end)
        within = (
            f"SELECT at, CASE type WHEN :state THEN {STATE} WHEN :dts THEN {DT_START}"
            f" ELSE {DT_END} END, COALESCE(state, 0),"
            " CASE state_type WHEN 'hard' THEN 1 ELSE 0 END,"
            f" CASE WHEN type = :state THEN 0 ELSE {dt_id} END, host, service"
            f" FROM {ev} WHERE {at} >= :start AND {at} < :end"
            f" AND (type = :state OR type IN ({types})){where_host} ORDER BY id"
        )
        rows = _rows(conn, within, params)
        covering_within = (
            f"SELECT DISTINCT {dt_id} FROM {ev} WHERE type = :dts AND at >= :start"
            f" AND at < :end AND {covers} = 1{where_host}"
        )
        out.covers_services.update(r[0] for r in _rows(conn, covering_within, params))
    changes = out.changes
    for row in rows:  # in time order: each object's list is too
        key = (row[5], row[6])
        per = changes.get(key)
        if per is None:
            changes[key] = [row]
        else:
            per.append(row)
    for e in sorted(recent, key=lambda e: e.at):
        if start <= e.at < end:
            _add_recent(out, e)
    return out


def _add_recent(out: ReportEvents, e: Event) -> None:
    if e.type == EventType.STATE_CHANGE:
        row: Change = (e.at, STATE, e.state or 0, e.state_type == "hard", 0, e.host, e.service)
    elif e.type in _DOWNTIME_TYPES:
        data = e.data or {}
        downtime = int(data.get("downtime_id") or 0)
        if data.get("include_services"):
            out.covers_services.add(downtime)
        kind = DT_START if e.type == EventType.DOWNTIME_START else DT_END
        row = (e.at, kind, 0, True, downtime, e.host, e.service)
    else:
        return
    out.changes.setdefault((e.host, e.service), []).append(row)


def _time_column(conn: sa.Connection, start: float, end: float) -> str:
    """``at``, or ``+at`` (no index) when the period covers most of the log: reading the
    table in order is then several times faster than an index lookup per row."""
    first, last = conn.execute(sa.text(f"SELECT MIN(at), MAX(at) FROM {t.events.name}")).one()
    if first is None or last <= first:
        return "at"
    covered = (min(end, last) - max(start, first)) / (last - first)
    return "+at" if covered > SCAN_SHARE else "at"


def _rows(conn: sa.Connection, sql: str, params: dict[str, Any]) -> list[Any]:
    """All rows as the driver's plain tuples (no SQLAlchemy rows). ``sql`` uses ``:name``
    parameters; only those it names are passed."""
    names = set(re.findall(r":(\w+)", sql))
    if conn.dialect.paramstyle == "pyformat":
        sql = re.sub(r":(\w+)", r"%(\1)s", sql)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, {k: v for k, v in params.items() if k in names})
        return list(cursor.fetchall())
    finally:
        cursor.close()


def created_times(db: sa.Engine) -> dict[Key, float]:
    """When each host and service was created (unmonitored before)."""
    with db.connect() as conn:
        out = {
            (r[0], ""): r[1] for r in conn.execute(sa.select(t.hosts.c.name, t.hosts.c.created_at))
        }
        cols = (t.services.c.host, t.services.c.name, t.services.c.created_at)
        out.update({(r[0], r[1]): r[2] for r in conn.execute(sa.select(*cols))})
    return out
