"""Read-only views of handling and history: downtimes, acknowledgements, comments, events,
metric series."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from lookout.auth import Principal, Role
from lookout.domain.events import Event
from lookout.engine.core import Engine
from lookout.errors import NotFound, ValidationError
from lookout.web.api.deps import require
from lookout.web.api.views import JSON, comment_view, downtime_view
from lookout.wire.times import parse_time

router = APIRouter()
MIN_STEP = 0.001
"""Smallest ``step`` of a metric query, in seconds (a tinier one overflowed the buckets)."""
Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]


def _time(value: str | None, name: str) -> float | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise ValidationError(f"{name}: {exc}", (name,)) from exc


@router.get("/downtimes")
async def list_downtimes(
    request: Request, _: Viewer, host: str | None = None, service: str | None = None
) -> Response:
    engine: Engine = request.app.state.site.engine
    items = [
        downtime_view(engine, d)
        for d in sorted(engine.downtimes.values(), key=lambda d: d.start)
        if (host is None or d.host == host) and (service is None or d.service == service)
    ]
    return JSON({"total": len(items), "items": items})


@router.get("/acknowledgements")
async def list_acknowledgements(request: Request, _: Viewer, host: str | None = None) -> Response:
    engine: Engine = request.app.state.site.engine
    items = [
        {
            "host": st.host,
            "service": st.service or None,
            "state": st.state,
            **msgspec.to_builtins(st.ack),
        }
        for st in engine.status.values()
        if st.ack is not None and (host is None or st.host == host)
    ]
    return JSON({"total": len(items), "items": items})


@router.get("/comments")
async def list_comments(
    request: Request, _: Viewer, host: str | None = None, service: str | None = None
) -> Response:
    engine: Engine = request.app.state.site.engine
    items = [
        comment_view(c)
        for c in engine.comments.values()
        if (host is None or c.host == host) and (service is None or c.service == service)
    ]
    return JSON({"total": len(items), "items": items})


@router.get("/events")
async def list_events(
    request: Request,
    _: Viewer,
    start: str | None = Query(None, description="Unix seconds or ISO 8601"),
    end: str | None = Query(None, description="Unix seconds or ISO 8601"),
    host: str | None = None,
    service: str | None = Query(None, description="Service name; '' for host events"),
    type: list[str] = Query([], description="Event type, repeatable"),
    limit: int = Query(1000, ge=1, le=10_000),
) -> Response:
    site = request.app.state.site
    t0, t1 = _time(start, "start"), _time(end, "end")

    def keep(e: Event) -> bool:
        return (
            (t0 is None or e.at >= t0)
            and (t1 is None or e.at <= t1)
            and (host is None or e.host == host)
            and (service is None or e.service == service)
            and (not type or e.type in type)
        )

    recent = [e for e in site.runner.recent_events() if keep(e)]
    stored = await asyncio.to_thread(
        site.store.query_events,
        start=t0,
        end=t1,
        host=host,
        service=service,
        types=type,
        limit=limit,
    )
    seen = {e.id for e in recent}
    merged = sorted(
        recent + [e for e in stored if e.id not in seen], key=lambda e: (e.at, e.id), reverse=True
    )[:limit]
    return JSON({"total": len(merged), "items": [_event(e) for e in merged]})


def _event(e: Event) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.to_builtins(e)
    out["service"] = e.service or None
    return out


@router.get("/metrics")
async def metrics(
    request: Request,
    _: Viewer,
    host: str = Query(description="Host name"),
    service: str = Query("", description="Service name; empty for the host's own metrics"),
    start: str | None = Query(None, description="Unix seconds or ISO 8601; default 4 h ago"),
    end: str | None = Query(None, description="Unix seconds or ISO 8601; default now"),
    step: float = Query(60.0, ge=MIN_STEP, description="Seconds per point"),
    name: str | None = Query(None, description="One metric; default all"),
) -> Response:
    """Metric series of a host or service over a time range, one averaged point per step."""
    return await _metrics(request, host, service, start, end, step, name)


async def _metrics(
    request: Request,
    host: str,
    service: str,
    start: str | None,
    end: str | None,
    step: float,
    name: str | None,
) -> Response:
    site = request.app.state.site
    engine: Engine = site.engine
    if (host, service) not in engine.status:
        what = f"service {host}/{service}" if service else f"host {host!r}"
        raise NotFound(f"{what} not found")
    now = site.clock()
    t1 = _time(end, "end") or now
    t0 = _time(start, "start") or t1 - 4 * 3600

    def run() -> Any:
        with site.db.connect() as conn:
            return site.series.query(conn, host, service, name, t0, t1, step)

    series = await asyncio.to_thread(run)
    return JSON(
        {
            "host": host,
            "service": service or None,
            "start": t0,
            "end": t1,
            "step": step,
            "series": [msgspec.to_builtins(s) if not isinstance(s, dict) else s for s in series],
        }
    )
