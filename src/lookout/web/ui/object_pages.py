"""The host and service pages: status, actions, graphs for 4h/25h/8d/1y, state timeline,
comments, downtimes and event log; the Kubernetes place and the agent panel where they apply."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from lookout.checks.active.rules import Effective
from lookout.domain.events import Event
from lookout.domain.objects import HostConfig, ServiceConfig
from lookout.engine.status import Status
from lookout.web.ui import graphs, integrations
from lookout.web.ui.sessions import Session
from lookout.web.ui.timing import TimedRoute
from lookout.web.ui.web import Missing, events_of, render, site_of, viewer

router = APIRouter(include_in_schema=False, route_class=TimedRoute)
Viewer = Annotated[Session, Depends(viewer)]


@router.get("/host")
async def host_page(request: Request, sess: Viewer, name: str, range: str = "4h") -> Response:
    site = site_of(request)
    engine = site.engine
    cfg = engine.hosts.get(name)
    if cfg is None:
        raise Missing(f"host {name!r} not found")
    st = engine.status[(name, "")]
    services = [engine.status[(name, s)] for s in sorted(engine.host_services.get(name, {}))]
    ctx = await _object_context(request, st, range)
    return render(
        request,
        sess,
        "host.html",
        title=name,
        cfg=cfg,
        st=st,
        services=services,
        children=sorted(h.name for h in engine.hosts.values() if name in h.parents),
        place=integrations.kube_place(cfg),
        agent=integrations.agent_status(site, name),
        group_aliases=site.group_aliases.get("host", {}),
        default_check=site.host_check(cfg) if cfg.check is None else None,
        **ctx,
    )


@router.get("/service")
async def service_page(
    request: Request, sess: Viewer, host: str, name: str, range: str = "4h"
) -> Response:
    site = site_of(request)
    engine = site.engine
    cfg = engine.services.get((host, name))
    if cfg is None:
        if host not in engine.hosts:
            raise Missing(f"host {host!r} not found")
        raise Missing(f"service {host}/{name} not found")
    st = engine.status[(host, name)]
    ctx = await _object_context(request, st, range)
    return render(
        request,
        sess,
        "service.html",
        title=f"{name} on {host}",
        cfg=cfg,
        check_rule=_rule_of(site, engine.hosts[host], cfg),
        host_cfg=engine.hosts[host],
        host_st=engine.status[(host, "")],
        st=st,
        place=integrations.kube_place(engine.hosts[host]),
        **ctx,
    )


def _rule_of(site: Any, host: HostConfig, svc: ServiceConfig | None) -> Effective | None:
    """Which check rule supplies the check's params (None: passive, or the rule is invalid)."""
    try:
        found: Effective | None = site.check_rules.effective(host, svc)
    except ValueError:
        return None
    return found


async def _object_context(request: Request, st: Status, range_name: str) -> dict[str, Any]:
    """Graphs, timeline, events, comments and downtimes of one host or service."""
    site = site_of(request)
    engine = site.engine
    if range_name not in graphs.RANGES:
        range_name = "4h"
    span, step = graphs.RANGES[range_name]
    now = site.clock()
    start = now - span

    def load() -> list[Any]:
        with site.db.connect() as conn:
            result: list[Any] = site.series.query(conn, st.host, st.service, None, start, now, step)
            return result

    series, events = await asyncio.gather(
        asyncio.to_thread(load),
        events_of(site, host=st.host, service=st.service or None, limit=300),
    )
    warn_crit = {m.name: (m.warn, m.crit) for m in st.metrics}
    svgs = []
    for s in series:
        warn, crit = s.warn, s.crit
        if s.name in warn_crit:
            warn, crit = warn_crit[s.name]
        svgs.append(
            (
                s.name,
                s.unit,
                graphs.graph(graphs.Series(s.name, s.unit, warn, crit, s.points), start, now),
            )
        )
    changes = await events_of(
        site, host=st.host, service=st.service, start=start, types=("state_change",), limit=5000
    )
    return {
        "range": range_name,
        "ranges": list(graphs.RANGES),
        "graphs": svgs,
        "timeline": graphs.timeline(_segments(st, changes, start, now), start, now),
        "events": events[:100],
        "comments": sorted(
            (c for c in engine.comments.values() if (c.host, c.service) == (st.host, st.service)),
            key=lambda c: c.at,
            reverse=True,
        ),
        "downtimes": [
            d
            for d in engine.downtimes.values()
            if d.host == st.host
            and (d.service == st.service or (not d.service and st.service == ""))
        ],
        "handled_now": engine.handled(st),
        "cause": engine.cause(st) if st.state != 0 else None,
        "affects": engine.affected(st),
        "presets": [("1h", 3600), ("8h", 8 * 3600), ("1d", 86400), ("7d", 7 * 86400)],
    }


def _segments(st: Status, changes: list[Event], start: float, now: float) -> list[graphs.Segment]:
    """State segments from state changes (newest first in ``changes``) up to now."""
    ordered = sorted(changes, key=lambda e: (e.at, e.id))
    segments: list[graphs.Segment] = []
    names = ("UP", "DOWN", "UNREACHABLE") if st.is_host else ("OK", "WARN", "CRIT", "UNKNOWN")
    css = ("ok", "crit", "unknown") if st.is_host else ("ok", "warn", "crit", "unknown")

    def seg(t0: float, t1: float, state: int) -> None:
        if 0 <= state < len(names):
            segments.append(graphs.Segment(t0, t1, css[state], names[state]))

    cursor = start
    for e in ordered:
        old = e.data.get("old_state")
        if isinstance(old, int):
            seg(cursor, e.at, old)
        cursor = e.at
    seg(cursor, now, st.state if st.checked else 0)
    return segments
