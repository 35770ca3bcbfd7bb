"""The site's ASGI application: REST API v1 (FastAPI) plus the lean ingestion route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from lookout import __version__
from lookout.domain import audit as audit_door
from lookout.web.api import (
    actions,
    admin,
    agents,
    audit,
    bulk,
    central,
    checkrules,
    commands,
    config,
    history,
    integrations,
    kube,
    notifications,
    objects,
    openapi_doc,
    ops,
    pools,
    problems,
    reports,
)
from lookout.web.api.deps import AuthGuard
from lookout.web.api.ingest import Ingest
from lookout.web.api.limits import BodyLimit
from lookout.web.api.problems import problem
from lookout.web.prefix import ForwardedPrefix
from lookout.web.ui.app import install as install_ui

if TYPE_CHECKING:
    from lookout.web.fronts.pool import IngestFronts


def create_app(site: Any, fronts: IngestFronts | None = None) -> ASGIApp:
    """The site's app; with ``fronts``, the ingest fronts start and stop with it (they serve
    ``POST /api/v1/results`` and hand every other connection to this app's server)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await site.standby.launch()  # starts the site, or waits for the lock as the standby
        try:
            if fronts is not None:
                await fronts.start()
            try:
                yield
            finally:
                if fronts is not None:
                    await fronts.stop()  # their requests in flight are answered first
        finally:
            await site.standby.stop()

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
    api = [objects.router, actions.router, history.router, admin.router]
    api += [commands.router, checkrules.router, bulk.router]
    api += [notifications.router, kube.router, config.router, reports.router]
    api += [integrations.router, pools.router, central.router, audit.router]
    for router in api:
        app.include_router(router, prefix="/api/v1")
    app.include_router(ops.router)
    install_ui(app)
    app.include_router(agents.router, prefix="/api/v1")
    openapi_doc.install(app, "/api/v1", [*api, agents.router], [ops.router])
    inner = ForwardedPrefix(app, site.settings.site_name)
    ingest = Ingest(site)
    front = FrontDoor(BodyLimit(inner, site.settings.max_request_bytes), ingest)
    s = site.settings
    guard = AuthGuard(StandbyDoor(front, site), s.auth_failure_limit, s.auth_failure_window)
    if fronts is not None:
        fronts.wire(site, ingest, guard)
    return guard


OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/api/v1/site"})
"""What a process that does not run the site (yet) answers: it is the standby or starting."""


class StandbyDoor:
    """Until the site runs in this process (the standby, or taking over), every door but
    :data:`OPS_PATHS` answers 503 with ``Retry-After``: the active process serves them."""

    def __init__(self, app: ASGIApp, site: Any) -> None:
        self.app = app
        self.standby = site.standby

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.standby.doors_shut or scope["path"] in OPS_PATHS:
            await self.app(scope, receive, send)
            return
        await shut(self.standby)(scope, receive, send)


def shut(standby: Any) -> Response:
    """The answer of a process whose doors are shut (the standby, or the site starting)."""
    role = standby.role.value
    detail = (
        "this process is the standby site: the active one serves; it takes over when that one stops"
        if role == "standby"
        else "the site is starting"
    )
    return problem(503, detail, headers={"Retry-After": "5"})


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
        elif scope["type"] == "http":
            with audit_door.acting(door_of(scope)):
                await self.app(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def door_of(scope: Scope) -> audit_door.Door:
    """Where a request comes from, for the audit log: the UI (pages outside ``/api``), or the
    API — ``cli``, ``import`` or ``config-apply`` when the client says so in
    ``X-Lookout-Client``. The user is filled in when the request authenticates."""
    client = scope.get("client")
    address = client[0] if client else ""
    if not scope["path"].startswith("/api/"):
        return audit_door.Door("ui", address)
    header = ""
    for name, value in scope.get("headers", ()):
        if name == b"x-lookout-client":
            header = value.decode("latin-1")
    return audit_door.Door(audit_door.channel_of(header), address)
