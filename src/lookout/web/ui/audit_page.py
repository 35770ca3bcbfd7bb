"""The audit log page (admins): who changed what, when and from where, with filters."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from lookout.domain import audit as a
from lookout.storage import audit as store
from lookout.web.ui.sessions import Session
from lookout.web.ui.timing import TimedRoute
from lookout.web.ui.web import admin_page, render, site_of

router = APIRouter(include_in_schema=False, route_class=TimedRoute)
Admin = Annotated[Session, Depends(admin_page)]
ROWS = 500


def _pretty(text: str | None) -> str:
    return "" if text is None else json.dumps(json.loads(text), indent=2, ensure_ascii=False)


def _row(r: dict[str, Any]) -> dict[str, Any]:
    return {**r, "before": _pretty(r["before"]), "after": _pretty(r["after"])}


@router.get("/audit")
async def audit_page(
    request: Request,
    sess: Admin,
    actor: str = "",
    channel: str = "",
    object: str = "",
    kind: str = "",
    days: float = 7,
) -> Response:
    site = site_of(request)
    days = min(max(days, 0.01), 100 * 365)
    q = store.Query(
        since=site.clock() - days * 86400,
        actor=actor or None,
        channel=channel if channel in a.CHANNELS else None,
        object=object or None,
        kind=kind or None,
        limit=ROWS,
    )
    rows = await asyncio.to_thread(store.query, site.db, q)
    return render(
        request,
        sess,
        "audit.html",
        title="Audit log",
        rows=[_row(r) for r in rows],
        most=ROWS,
        actor=actor,
        channel=channel,
        object=object,
        kind=kind,
        days=days,
        channels=a.CHANNELS,
    )
