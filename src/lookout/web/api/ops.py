"""Prometheus metrics of Lookout itself and ``GET /api/v1/site`` (``/healthz`` and ``/readyz``:
:mod:`lookout.web.api.ready`)."""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response, StreamingResponse

from lookout import __version__, compiled
from lookout.auth import Principal, Role
from lookout.web.api.deps import require
from lookout.web.api.exposition import CONTENT_TYPE, Exposition
from lookout.web.api.views import JSON

router = APIRouter()
Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]


@router.get("/api/v1/site", tags=["site"])
async def site_info(request: Request, _: Viewer) -> Response:
    """This process and its site: name, version, role (``active``, ``standby`` or
    ``starting``) and since when, the database kind, and on PostgreSQL who holds the site
    lock (``lock_holder``: the active process's connection). ``engine``: whether the engine's
    hot path runs compiled (mypyc) or as Python, and why not compiled."""
    site = request.app.state.site
    standby = await asyncio.to_thread(site.standby.info)
    engine = compiled.engine()
    return JSON(
        {
            "site_name": site.settings.site_name,
            "version": __version__,
            "url": site.settings.url,
            "database": site.db.dialect.name,
            "engine": {"compiled": engine.compiled, "detail": engine.describe()},
            "process": {"host": socket.gethostname(), "pid": os.getpid()},
            **standby,
            "hosts": len(site.engine.hosts) if site.standby.active else None,
            "services": len(site.engine.services) if site.standby.active else None,
        }
    )


def _exposition(request: Request) -> Exposition:
    state = request.app.state
    if getattr(state, "exposition", None) is None:
        state.exposition = Exposition(state.site)
    exposition: Exposition = state.exposition
    return exposition


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """The Prometheus text format; every service's state and perfdata with ``[metrics]``,
    behind a bearer token of any role when ``[metrics]`` says so (``needs_token``)."""
    site = request.app.state.site
    if site.settings.metrics.needs_token:
        await _viewer(request)  # 401/403/429 as for the API
    return StreamingResponse(_exposition(request).stream(), media_type=CONTENT_TYPE)


_viewer = require(Role.VIEWER)
