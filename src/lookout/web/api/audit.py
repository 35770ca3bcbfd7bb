"""The audit log (admin only): query, export as JSON lines, verify the hash chain.

There is no route that changes or removes an entry: entries go only by age
(``audit_retention_days``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response, StreamingResponse

from lookout.auth import Principal, Role
from lookout.domain import audit as a
from lookout.errors import ValidationError
from lookout.storage import audit as store
from lookout.web.api.deps import require
from lookout.web.api.views import JSON
from lookout.wire.times import parse_time

router = APIRouter(prefix="/audit", tags=["audit"])
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]

Since = Annotated[str | None, Query(description="From this time on: Unix seconds or ISO 8601")]
Until = Annotated[str | None, Query(description="Before this time: Unix seconds or ISO 8601")]
Actor = Annotated[str | None, Query(description="Who acted (user or token's user)")]
Object = Annotated[
    str | None, Query(description="An object's name; a host name also finds its services")
]
Channel = Annotated[str | None, Query(description=f"One of {', '.join(a.CHANNELS)}")]
Kind = Annotated[str | None, Query(description="host, service, downtime, user, channel, …")]


def _query(
    since: str | None,
    until: str | None,
    actor: str | None,
    obj: str | None,
    channel: str | None,
    kind: str | None,
    limit: int = 100,
) -> store.Query:
    """The filters, checked (422 naming the parameter)."""
    times: dict[str, float | None] = {}
    for name, value in (("since", since), ("until", until)):
        try:
            times[name] = parse_time(value) if value is not None else None
        except ValueError as exc:
            raise ValidationError(f"{name}: {exc}", (name,)) from exc
    if channel is not None and channel not in a.CHANNELS:
        raise ValidationError(
            f"channel: {channel!r} is not one of {', '.join(a.CHANNELS)}", ("channel",)
        )
    return store.Query(
        since=times["since"],
        until=times["until"],
        actor=actor,
        object=obj,
        channel=channel,
        kind=kind,
        limit=limit,
    )


def view(row: dict[str, Any]) -> dict[str, Any]:
    """An entry as the list shows it: ``before``/``after`` as JSON values."""
    out = dict(row)
    for key in ("before", "after"):
        out[key] = json.loads(row[key]) if row[key] is not None else None
    return out


@router.get("")
async def list_entries(
    request: Request,
    _: Admin,
    since: Since = None,
    until: Until = None,
    actor: Actor = None,
    object: Object = None,
    channel: Channel = None,
    kind: Kind = None,
    limit: int = Query(100, ge=1, le=10_000),
) -> Response:
    """The newest entries that match, newest first."""
    q = _query(since, until, actor, object, channel, kind, limit)
    rows = await asyncio.to_thread(store.query, request.app.state.site.db, q)
    return JSON({"total": len(rows), "items": [view(r) for r in rows]})


@router.get(
    ".jsonl",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/jsonl": {}}}},
)
async def export(
    request: Request,
    _: Admin,
    since: Since = None,
    until: Until = None,
    actor: Actor = None,
    object: Object = None,
    channel: Channel = None,
    kind: Kind = None,
) -> StreamingResponse:
    """Every matching entry, oldest first, one JSON object a line, streamed. ``before`` and
    ``after`` are the stored text, so each line's ``hash`` can be checked without the site."""
    q = _query(since, until, actor, object, channel, kind)
    db = request.app.state.site.db

    async def lines() -> AsyncIterator[bytes]:
        last = 0
        while True:
            chunk = await asyncio.to_thread(store.page, db, q, last)
            if chunk:
                yield "".join(a.dump(r) + "\n" for r in chunk).encode()
            if len(chunk) < store.CHUNK:
                return
            last = chunk[-1]["id"]

    return StreamingResponse(lines(), media_type="application/jsonl")


@router.get("/verify")
async def verify(request: Request, _: Admin) -> Response:
    """Check the hash chain from the oldest entry kept: ``ok``, ``rows``, ``head`` (the newest
    hash: keep it elsewhere to notice entries cut off the end) and ``breaks``."""
    verdict = await asyncio.to_thread(store.verify, request.app.state.site.db)
    return JSON(verdict.as_dict())
