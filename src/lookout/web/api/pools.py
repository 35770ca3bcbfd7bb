"""``GET /pools``: the site's worker pools (NATS JetStream), their workers and queues."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from lookout.auth import Principal, Role
from lookout.web.api.deps import require
from lookout.web.api.views import JSON

router = APIRouter(tags=["pools"])
Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]


@router.get("/pools")
async def list_pools(request: Request, _: Viewer) -> Response:
    """Where active checks run: ``runner`` "embedded" (in the site, no pools) or "nats" with
    each pool's live workers, jobs waiting and running, the oldest job's age in seconds, the
    site's runs waiting for a result and the due-to-journaled latency p99 in seconds."""
    pools = request.app.state.site.pools
    if pools is None:
        return JSON({"runner": "embedded", "nats": None, "error": "", "pools": []})
    answer: dict[str, Any] = {
        "runner": "nats",
        "nats": pools.access.shown(),
        "error": pools.error,
        "pools": [dataclasses.asdict(p) for p in await pools.pools()],
    }
    return JSON(answer)
