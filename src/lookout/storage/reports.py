"""What an availability report reads from the event log: per object, its last state change
before the period, what changed within it, and the downtimes that covered it at its start.

One pass per question over the ``(host, service, at)`` index; only the columns the report
needs, as plain tuples (a month of 10,000 services is hundreds of thousands of rows).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import sqlalchemy as sa

from lookout.domain.availability import Change
from lookout.domain.events import Event, EventType
from lookout.storage import tables as t

Key = tuple[str, str]
HOST_FILTER_LIMIT = 500
"""Above this many hosts the query reads every object and the caller keeps what it needs."""

_STATE = str(EventType.STATE_CHANGE)
_DT_START = str(EventType.DOWNTIME_START)
_DT_ENDS = (str(EventType.DOWNTIME_END), str(EventType.DOWNTIME_CANCEL))
_DOWNTIME_TYPES = (_DT_START, *_DT_ENDS)


@dataclass(slots=True)
class HostDowntime:
    """A downtime on a host that also covers its services."""

    downtime_id: int
    covers_services: bool


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
    params: dict[str, Any] = {"start": start, "end": end, "state": _STATE}
    if len(hosts) <= HOST_FILTER_LIMIT:
        names = sorted(hosts)
        where_host = " AND host IN (" + ", ".join(f":h{i}" for i in range(len(names))) + ")"
        params.update({f"h{i}": n for i, n in enumerate(names)})
        if not names:
            return out
    ev = t.events.name
    with db.connect() as conn:
        last_before = sa.text(
            f"SELECT e.host, e.service, e.state, e.state_type FROM {ev} e JOIN ("
            f" SELECT MAX(id) AS id FROM {ev} WHERE type = :state AND at < :start{where_host}"
            " GROUP BY host, service) last ON e.id = last.id"
        )
        for host, service, state, state_type in conn.execute(last_before, params):
            out.initial[(host, service)] = (int(state or 0), state_type == "hard")
        downtime_params = {**params, **{f"d{i}": k for i, k in enumerate(_DOWNTIME_TYPES)}}
        types = ", ".join(f":d{i}" for i in range(len(_DOWNTIME_TYPES)))
        before = sa.text(
            f"SELECT host, service, type, data FROM {ev} WHERE type IN ({types})"
            f" AND at < :start{where_host} ORDER BY id"
        )
        for host, service, kind, data in conn.execute(before, downtime_params):
            _track(out, (host, service), kind, _downtime_id(data, out))
        within = sa.text(
            f"SELECT host, service, at, type, state, state_type, data FROM {ev}"
            f" WHERE at >= :start AND at < :end AND (type = :state OR type IN ({types}))"
            f"{where_host} ORDER BY id"
        )
        rows = list(conn.execute(within, downtime_params))
    for host, service, at, kind, state, state_type, data in rows:
        _within(out, (host, service), at, kind, state, state_type, data)
    for e in recent:
        if start <= e.at < end and (e.type == EventType.STATE_CHANGE or e.type in _DOWNTIME_TYPES):
            data = msgspec.json.encode(e.data).decode() if e.type != EventType.STATE_CHANGE else ""
            _within(out, (e.host, e.service), e.at, str(e.type), e.state, e.state_type, data)
    return out


def _within(
    out: ReportEvents,
    key: Key,
    at: float,
    kind: str,
    state: int | None,
    state_type: str | None,
    data: Any,
) -> None:
    changes = out.changes.setdefault(key, [])
    if kind == _STATE:
        changes.append(Change(at, "state", int(state or 0), state_type == "hard"))
        return
    dt_id = _downtime_id(data, out)
    changes.append(Change(at, "dt_start" if kind == _DT_START else "dt_end", downtime_id=dt_id))


def _track(out: ReportEvents, key: Key, kind: str, dt_id: int) -> None:
    active = out.at_start.setdefault(key, set())
    if kind == _DT_START:
        active.add(dt_id)
    else:
        active.discard(dt_id)


def _downtime_id(data: Any, out: ReportEvents) -> int:
    if isinstance(data, str | bytes):
        data = msgspec.json.decode(data) if data else {}
    if not isinstance(data, dict):
        return 0
    dt_id = int(data.get("downtime_id") or 0)
    if data.get("include_services"):
        out.covers_services.add(dt_id)
    return dt_id


def created_times(db: sa.Engine) -> dict[Key, float]:
    """When each host and service was created (unmonitored before)."""
    with db.connect() as conn:
        out = {
            (r[0], ""): r[1] for r in conn.execute(sa.select(t.hosts.c.name, t.hosts.c.created_at))
        }
        cols = (t.services.c.host, t.services.c.name, t.services.c.created_at)
        out.update({(r[0], r[1]): r[2] for r in conn.execute(sa.select(*cols))})
    return out
