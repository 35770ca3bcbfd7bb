"""The site's ASGI application: REST API v1 (FastAPI) plus the lean ingestion route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from lookout import __version__
from lookout.web.api import (
    actions,
    admin,
    agents,
    history,
    kube,
    notifications,
    objects,
    ops,
    problems,
)
from lookout.web.api.ingest import Ingest
from lookout.web.api.limits import BodyLimit
from lookout.web.api.problems import problem
from lookout.web.ui.app import install as install_ui

RESULTS_OPENAPI: dict[str, Any] = {
    "post": {
        "summary": "Submit check results (one, or a batch of thousands)",
        "description": (
            'Body: {"results": [result, ...]} or one result object. A result: host, '
            "service (omit for a host result), state (0-3 or OK/WARN/CRIT/UNKNOWN; hosts 0 UP, "
            "1 DOWN, 2 UNREACHABLE), summary, long_output, output (full plugin output, split "
            "into summary/long output/perfdata), perfdata (Nagios format), metrics "
            "([{name, value, unit, warn, crit, min, max}]), checked_at (Unix seconds or ISO "
            "8601). Answers 200 when all were accepted, 207 with errors by index when some "
            "were rejected, 422 when none was. The answer comes once accepted results are "
            "durable."
        ),
        "operationId": "submit_results",
        "tags": ["results"],
        "security": [{"bearer": []}],
        "responses": {
            "200": {"description": "all accepted"},
            "207": {"description": "some rejected"},
            "422": {"description": "none accepted"},
        },
    }
}


def create_app(site: Any) -> ASGIApp:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await site.start()
        try:
            yield
        finally:
            await site.stop()

    app = FastAPI(
        title="Lookout",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.site = site
    app.state.actions = site.actions
    problems.install(app)
    for router in (objects.router, actions.router, history.router, admin.router):
        app.include_router(router, prefix="/api/v1")
    app.include_router(notifications.router, prefix="/api/v1")
    app.include_router(kube.router, prefix="/api/v1")
    app.include_router(ops.router)
    install_ui(app)
    app.include_router(agents.router, prefix="/api/v1")
    _document_results(app)
    return FrontDoor(BodyLimit(app, site.settings.max_request_bytes), Ingest(site))


class FrontDoor:
    """Sends ``POST /api/v1/results`` straight to the lean ingest app, everything else to
    FastAPI: the hot path skips the framework's middleware and dependency machinery."""

    def __init__(self, app: ASGIApp, ingest: ASGIApp) -> None:
        self.app = app
        self.ingest = ingest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/api/v1/results":
            if scope["method"] == "POST":
                await self.ingest(scope, receive, send)
            else:
                response = problem(
                    405, f"{scope['method']} not allowed here; use POST", headers={"Allow": "POST"}
                )
                await response(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _document_results(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            schema["paths"]["/api/v1/results"] = RESULTS_OPENAPI
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer"}
            }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
