"""A central view over many sites (issue 12): the change feed every site offers
(``/changes``), the remote sites of a central site (``/remotes``), their hosts, services and
problems merged with the site's own (``/central/*``, with a ``site`` column and filter), and
actions carried to the site that owns the object."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from lookout.auth import Principal, Role
from lookout.sites.central import Central, Filter, row_view
from lookout.sites.remote_link import RemoteFailure
from lookout.storage.remotes import RemoteRow
from lookout.web.api import actions as local_actions
from lookout.web.api.deps import require
from lookout.web.api.objects import _states
from lookout.web.api.problems import problem
from lookout.web.api.views import JSON
from lookout.wire.api import AcknowledgeIn, CommentIn, DowntimeIn, TargetIn
from lookout.wire.central import (
    MAX_PAGE_ITEMS,
    CentralAcknowledgeIn,
    CentralCommentIn,
    CentralDowntimeIn,
    CentralTarget,
    RemoteIn,
)

router = APIRouter()
Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]


def _central(request: Request) -> Central:
    central: Central = request.app.state.site.central
    return central


# ---------------------------------------------------------------------- the feed
@router.get("/changes")
async def changes(
    request: Request,
    who: Viewer,
    since: str = Query("", max_length=64, description="The cursor of the previous answer"),
    after_host: str | None = Query(None, max_length=255, description="Full sync: after this"),
    after_service: str = Query("", max_length=255),
    limit: int = Query(20_000, ge=1, le=MAX_PAGE_ITEMS),
) -> Response:
    """What changed since ``since`` (hosts and services with what a central site shows, and
    the objects removed); without a cursor, or with one of an earlier run of the site, every
    object in name order, page by page (``after_host``/``after_service``)."""
    feed = request.app.state.site.change_feed()
    after = None if after_host is None else (after_host, after_service)
    page = feed.page(since, after, limit)
    page = msgspec.structs.replace(page, caller=who.user)
    return Response(msgspec.json.encode(page), media_type="application/json")


# ---------------------------------------------------------------------- remotes
@router.get("/remotes")
async def list_remotes(request: Request, _: Viewer) -> Response:
    """The remote sites: how they answer (ok, connecting, unreachable with the error and since
    when the data is stale), objects and problems kept. Tokens are never shown."""
    items = _central(request).health()
    return JSON({"total": len(items), "items": items})


@router.post("/remotes", status_code=201)
async def add_remote(body: RemoteIn, request: Request, _: Admin) -> Response:
    central = _central(request)
    await central.add(
        RemoteRow(
            name=body.name,
            url=body.url,
            token=body.token,
            ca_pem=body.ca,
            allow_http=body.allow_http,
            created_at=request.app.state.site.clock(),
        )
    )
    return JSON(central.health_of(central.link(body.name)), status_code=201)


@router.delete("/remotes/{name}", status_code=204)
async def remove_remote(name: str, request: Request, _: Admin) -> Response:
    await _central(request).remove(name)
    return Response(status_code=204)


# ---------------------------------------------------------------------- merged reads
def _listing(
    request: Request,
    f: Filter,
    limit: int,
    offset: int,
) -> Response:
    rows = _central(request).rows(f)
    page = rows.slice(offset, offset + limit)
    return JSON(
        {
            "total": rows.total,
            "sites": _central(request).health(),
            "items": [row_view(site, obj, hosts=f.hosts) for site, obj in page],
        }
    )


SiteQ = Query(None, max_length=63, description="Only this site (this one or a remote's name)")
HostQ = Query(None, max_length=255, description="Exact host name")
StateQ = Query([], description="ok/warn/crit/unknown (hosts: up/down/unreachable) or 0-3")
HandledQ = Query(None, description="true: acked/downtime/host down; false: not")
LimitQ = Query(1000, ge=1, le=100_000)
OffsetQ = Query(0, ge=0)


@router.get("/central/problems")
async def central_problems(
    request: Request,
    _: Viewer,
    site: str | None = SiteQ,
    host: str | None = HostQ,
    state: list[str] = StateQ,
    handled: bool | None = HandledQ,
    limit: int = LimitQ,
    offset: int = OffsetQ,
) -> Response:
    """Services not OK on this site and its remotes: unhandled first, worst and oldest on
    top, each with its ``site``; ``sites`` says how each remote answers."""
    states = frozenset(_states(state) - {0}) or frozenset({1, 2, 3})
    f = Filter(site=site, host=host, states=states, handled=handled)
    return _listing(request, f, limit, offset)


@router.get("/central/services")
async def central_services(
    request: Request,
    _: Viewer,
    site: str | None = SiteQ,
    host: str | None = HostQ,
    name: str | None = Query(None, max_length=255, description="Substring of the name"),
    state: list[str] = StateQ,
    handled: bool | None = HandledQ,
    limit: int = LimitQ,
    offset: int = OffsetQ,
) -> Response:
    """Services of this site and its remotes, each with its ``site``."""
    f = Filter(
        site=site, host=host, service=name, states=frozenset(_states(state)), handled=handled
    )
    return _listing(request, f, limit, offset)


@router.get("/central/hosts")
async def central_hosts(
    request: Request,
    _: Viewer,
    site: str | None = SiteQ,
    state: list[str] = StateQ,
    limit: int = LimitQ,
    offset: int = OffsetQ,
) -> Response:
    """Hosts of this site and its remotes, each with its ``site``."""
    f = Filter(site=site, states=frozenset(_states(state)), hosts=True)
    return _listing(request, f, limit, offset)


# ---------------------------------------------------------------------- actions
async def _act(
    request: Request, who: Principal, action: str, body: BaseModel, local: type[BaseModel]
) -> Response:
    central = _central(request)
    data: dict[str, Any] = body.model_dump(mode="json", exclude_unset=True)
    site: str = data.pop("site")
    if site == central.name:
        handler = {
            "acknowledge": local_actions.acknowledge,
            "schedule-downtime": local_actions.schedule_downtime,
            "comment": local_actions.comment,
            "recheck": local_actions.recheck,
        }[action]
        answer: Response = await handler(local.model_validate(data), request, who)  # type: ignore[operator]
        return answer
    try:
        out = await central.act(site, action, data, who.user)
    except RemoteFailure as exc:
        return problem(502, f"remote site {site}: {exc}", site=site)
    if out.status >= 300:
        detail = out.body.get("detail") if isinstance(out.body, dict) else out.body
        return problem(
            502,
            f"remote site {site} refused: {out.status} {detail}",
            site=site,
            remote_status=out.status,
            remote_answer=out.body,
        )
    return JSON({"site": site, "remote_status": out.status, "answer": out.body})


@router.post("/central/actions/acknowledge")
async def central_acknowledge(
    body: CentralAcknowledgeIn, request: Request, who: Operator
) -> Response:
    """Acknowledge on the site that owns the object (``site``); the remote's answer or
    refusal comes back as it gave it (502 with ``remote_status`` and ``remote_answer``)."""
    return await _act(request, who, "acknowledge", body, AcknowledgeIn)


@router.post("/central/actions/schedule-downtime")
async def central_downtime(body: CentralDowntimeIn, request: Request, who: Operator) -> Response:
    """Schedule a downtime on the site that owns the object."""
    return await _act(request, who, "schedule-downtime", body, DowntimeIn)


@router.post("/central/actions/comment")
async def central_comment(body: CentralCommentIn, request: Request, who: Operator) -> Response:
    """Comment on the site that owns the object."""
    return await _act(request, who, "comment", body, CommentIn)


@router.post("/central/actions/recheck")
async def central_recheck(body: CentralTarget, request: Request, who: Operator) -> Response:
    """Recheck on the site that owns the object."""
    return await _act(request, who, "recheck", body, TargetIn)
