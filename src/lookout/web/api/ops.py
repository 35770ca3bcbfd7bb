"""Liveness, readiness and Prometheus metrics of Lookout itself."""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response, StreamingResponse

from lookout import __version__, compiled
from lookout.auth import Principal, Role
from lookout.web.api.deps import TooManyFailures, authenticate, require
from lookout.web.api.exposition import CONTENT_TYPE, Exposition
from lookout.web.api.problems import problem
from lookout.web.api.views import JSON

router = APIRouter()
Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]


@router.get("/healthz", include_in_schema=False)
async def healthz() -> Response:
    return JSON({"status": "ok"})


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> Response:
    """200 when ready, else 503 "not ready". Why (the failed write's error names SQL and row
    data) only for an admin token; it is in the log too."""
    site = request.app.state.site
    role = site.standby.role.value
    if role == "standby":
        return problem(503, "not ready: standby (another process runs the site)")
    why = site.runner.failed or ("" if role == "active" else "starting")
    if not why:
        return JSON(
            {
                "status": "ready",
                "hosts": len(site.engine.hosts),
                "services": len(site.engine.services),
            }
        )
    return problem(503, f"not ready: {why}" if _is_admin(site, request) else "not ready")


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


def _is_admin(site: object, request: Request) -> bool:
    try:
        principal = authenticate(site, request)
    except TooManyFailures:  # a probe gets its answer all the same, without the reason
        return False
    return principal is not None and principal.role.allows(Role.ADMIN)


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
