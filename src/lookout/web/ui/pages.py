"""The pages people look at (GET only; forms post to ``login``, ``act`` and ``setup_forms``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import RedirectResponse, Response

from lookout.checks.active.registry import check_types
from lookout.domain.events import EventType
from lookout.engine.status import Status
from lookout.storage import accounts
from lookout.storage import commands as command_store
from lookout.web.api.views import JSON
from lookout.web.ui import integrations, queries
from lookout.web.ui.sessions import Session
from lookout.web.ui.shown_once import NEW_TOKEN, REGISTRATION, ShownOnce
from lookout.web.ui.timing import TimedRoute
from lookout.web.ui.web import (
    admin_page,
    engine_of,
    events_of,
    host_url,
    render,
    service_url,
    site_of,
    viewer,
)

router = APIRouter(include_in_schema=False, route_class=TimedRoute)
Viewer = Annotated[Session, Depends(viewer)]
Admin = Annotated[Session, Depends(admin_page)]


@router.get("/")
async def overview(request: Request, sess: Viewer) -> Response:
    site = site_of(request)
    engine = engine_of(request)
    ov = queries.overview(engine)
    return render(
        request,
        sess,
        "overview.html",
        title="Overview",
        ov=ov,
        clusters=ov.clusters,
        notes=await integrations.notification_summary(site),
        remotes=site.central.health(),
        live=True,
    )


@router.get("/problems")
async def problems(request: Request, sess: Viewer) -> Response:
    site = site_of(request)
    f, errors = queries.parse_filter(list(request.query_params.multi_items()))
    page = queries.problems(site.engine, f, site.settings.ui.page_size)
    return render(
        request,
        sess,
        "problems.html",
        title="Problems",
        f=f,
        errors=errors,
        page=page,
        handled=site.engine.handled,
        cause=site.engine.cause,
        live=True,
    )


@router.get("/services")
async def services(
    request: Request,
    sess: Viewer,
    state: str = "",
    host: str = "",
    q: str = "",
    label: str = "",
    page: int = Query(1, ge=1),
) -> Response:
    """All services (OK ones too) with simple filters: what the overview's tiles open."""
    site = site_of(request)
    engine = site.engine
    wanted = queries.STATE_FILTER.get(state.lower()) if state else None
    key, _, value = label.partition("=")
    names = sorted(h for h in engine.host_services if not host or host.lower() in h.lower())
    rows = (
        engine.status[(h, name)]
        for h in names
        for name in sorted(engine.host_services[h])
        if (not q or q.lower() in name.lower())
    )
    rows = (
        st
        for st in rows
        if (wanted is None or (st.checked and st.state == wanted))
        and (state != "pending" or not st.checked)
        and (not key or _label(engine, st, key) == value)
    )
    return _listing(request, sess, "services.html", "Services", rows, page, state=state, q=q)


@router.get("/hosts")
async def hosts(
    request: Request,
    sess: Viewer,
    state: str = "",
    q: str = "",
    label: str = "",
    page: int = Query(1, ge=1),
) -> Response:
    site = site_of(request)
    engine = site.engine
    wanted = {"up": 0, "down": 1, "unreachable": 2}.get(state.lower()) if state else None
    key, _, value = label.partition("=")
    rows = (
        engine.status[(name, "")]
        for name in sorted(engine.hosts)
        if (wanted is None or engine.status[(name, "")].state == wanted)
        and (not q or q.lower() in name.lower())
        and (not key or engine.hosts[name].labels.get(key) == value)
    )

    def service_counts(host: str) -> list[tuple[str, int]]:
        counts = [0, 0, 0, 0, 0]  # ok warn crit unknown pending
        for name in engine.host_services.get(host, ()):
            st = engine.status[(host, name)]
            counts[st.state if st.checked else 4] += 1
        css = ("ok", "warn", "crit", "unknown", "pending")
        return [(css[i], n) for i in (2, 3, 1, 0, 4) if (n := counts[i])]

    return _listing(
        request,
        sess,
        "hosts.html",
        "Hosts",
        rows,
        page,
        state=state,
        q=q,
        service_counts=service_counts,
    )


def _page_url(request: Request, page: int) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    return f"{request.url.path}?{urlencode([*params, ('page', str(page))])}"


def _label(engine: Any, st: Status, key: str) -> str | None:
    own = st.cfg.labels if st.cfg is not None else {}
    value: str | None = own.get(key, engine.hosts[st.host].labels.get(key))
    return value


def _listing(
    request: Request,
    sess: Session,
    template: str,
    title: str,
    rows: Iterable[Status],
    page: int,
    **ctx: Any,
) -> Response:
    """One page of ``rows`` (materialising only that page; the rest is just counted)."""
    size = site_of(request).settings.ui.page_size
    first = (page - 1) * size
    shown: list[Status] = []
    total = 0
    for st in rows:
        if first <= total < first + size:
            shown.append(st)
        total += 1
    pages = max(1, -(-total // size))
    if page > pages:
        return (
            _listing(request, sess, template, title, [], 1, **ctx)
            if total == 0
            else (RedirectResponse(_page_url(request, pages), status_code=303))
        )
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    return render(
        request,
        sess,
        template,
        title=title,
        rows=shown,
        total=total,
        page_no=page,
        pages=pages,
        params=params,
        handled=engine_of(request).handled,
        **ctx,
    )


# ---------------------------------------------------------------------- search
@router.get("/search")
async def search_page(request: Request, sess: Viewer, q: str = "") -> Response:
    hits = queries.search(engine_of(request), q, limit=200)
    return render(request, sess, "search.html", title="Search", q=q, hits=hits)


@router.get("/ui/search.json")
async def search_json(request: Request, _: Viewer, q: str = "") -> Response:
    hits = queries.search(engine_of(request), q, limit=15)
    return JSON(
        {
            "items": [
                {
                    **msgspec.to_builtins(h),
                    "url": service_url(h.host, h.service) if h.service else host_url(h.host),
                }
                for h in hits
            ]
        }
    )


@router.get("/ui/live.json")
async def live(request: Request, _: Viewer) -> Response:
    """What the browser polls: the unhandled count (title) and a change marker."""
    engine = engine_of(request)
    changes, objects = queries.live_marker(site_of(request))
    return JSON(
        {"unhandled": queries.unhandled_count(engine), "changes": changes, "objects": objects}
    )


# ---------------------------------------------------------------------- lists
@router.get("/downtimes")
async def downtimes(request: Request, sess: Viewer) -> Response:
    engine = engine_of(request)
    rows = sorted(engine.downtimes.values(), key=lambda d: d.start)
    return render(request, sess, "downtimes.html", title="Downtimes", rows=rows)


@router.get("/acks")
async def acks(request: Request, sess: Viewer) -> Response:
    engine = engine_of(request)
    rows = sorted(
        (st for st in engine.status.values() if st.ack is not None),
        key=lambda st: st.ack.set_at if st.ack else 0,
        reverse=True,
    )
    return render(request, sess, "acks.html", title="Acknowledgements", rows=rows)


@router.get("/events")
async def events(
    request: Request, sess: Viewer, host: str = "", type: str = "", hours: float = 24
) -> Response:
    site = site_of(request)
    types = (type,) if type in {t.value for t in EventType} else ()
    rows = await events_of(
        site,
        host=host or None,
        start=site.clock() - max(hours, 0.1) * 3600,
        types=types,
        limit=500,
    )
    return render(
        request,
        sess,
        "events.html",
        title="Events",
        rows=rows,
        host=host,
        type=type,
        hours=hours,
        types=[t.value for t in EventType],
    )


@router.get("/notifications")
async def notifications(request: Request, sess: Viewer, failed: bool = False) -> Response:
    site = site_of(request)
    return render(
        request,
        sess,
        "notifications.html",
        title="Notifications",
        summary=await integrations.notification_summary(site),
        rows=await integrations.notification_deliveries(site, failed_only=failed, limit=500),
        failed=failed,
    )


# ---------------------------------------------------------------------- setup
@router.get("/setup")
async def setup(request: Request, sess: Admin, created: str = "") -> Response:
    site = site_of(request)
    users, tokens, commands = await asyncio.gather(
        asyncio.to_thread(accounts.list_users, site.db),
        asyncio.to_thread(accounts.list_tokens, site.db),
        asyncio.to_thread(command_store.list_commands, site.db),
    )
    rules, channels = await integrations.notification_setup(site)
    shown_once: ShownOnce = request.app.state.ui_shown_once
    new_token, registration = await asyncio.gather(
        asyncio.to_thread(shown_once.take, sess.id_hash, NEW_TOKEN),
        asyncio.to_thread(shown_once.take, sess.id_hash, REGISTRATION),
    )
    return render(
        request,
        sess,
        "setup.html",
        title="Setup",
        users=users,
        tokens=tokens,
        commands=[{**c, "used_by": site.command_users(c["name"])} for c in commands],
        execution=site.executor.enabled,
        check_rules=site.check_rules.rules,
        check_types=check_types(),
        new_token=new_token,
        created=created if created in site.engine.hosts else "",
        registration=registration,
        receiver=site.agents is not None,
        hosts_total=len(site.engine.hosts),
        clusters=integrations.kube_clusters(site.engine),
        connections=await integrations.kube_connections(site),
        notes=await integrations.notification_summary(site),
        rules=rules,
        channels=channels,
        url=site.settings.url,
    )
