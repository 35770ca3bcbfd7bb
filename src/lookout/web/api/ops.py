"""Liveness, readiness and Prometheus metrics of Lookout itself."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from lookout.auth import Role
from lookout.web.api.deps import TooManyFailures, authenticate, require
from lookout.web.api.exposition import CONTENT_TYPE, Exposition
from lookout.web.api.problems import problem
from lookout.web.api.views import JSON

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz() -> Response:
    return JSON({"status": "ok"})


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> Response:
    """200 when ready, else 503 "not ready". Why (the failed write's error names SQL and row
    data) only for an admin token; it is in the log too."""
    site = request.app.state.site
    why = site.runner.failed or ("" if site.runner.started else "starting")
    if not why:
        return JSON(
            {
                "status": "ready",
                "hosts": len(site.engine.hosts),
                "services": len(site.engine.services),
            }
        )
    return problem(503, f"not ready: {why}" if _is_admin(site, request) else "not ready")


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
