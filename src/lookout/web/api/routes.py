"""The REST API v1 and the web UI as one FastAPI app (built by :class:`lookout.web.api.app.LazyApi`
once the site runs: importing FastAPI and building its routes' models is most of what a site
would otherwise import before it answers ``/readyz``)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from lookout import __version__
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
from lookout.web.ui.app import install as install_ui


def build_api(site: Any) -> FastAPI:
    """FastAPI with every route but ``POST /api/v1/results``, ``/healthz`` and ``/readyz``
    (the lean doors in front of it answer those)."""
    app = FastAPI(
        title="Lookout",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
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
    _build_routes(app)
    return app


def _build_routes(app: FastAPI) -> None:
    """Build what FastAPI would build at the first request of each included router (its
    routes' dependants and models under the prefix), so that the build happens here, off
    the event loop, and not in the first request."""
    for route in app.router.routes:
        build = getattr(route, "effective_candidates", None)
        if callable(build):
            build()
