"""The site's ASGI application: lean doors in front of the REST API v1 (FastAPI).

``POST /api/v1/results``, ``/healthz`` and ``/readyz`` are answered without FastAPI, and
FastAPI itself (with every route module and the web UI) is imported and built on a thread
once the site runs (:class:`LazyApi`): a site answers ``/readyz`` and takes results without
waiting for the import of the API's ~100 pydantic models. A request that needs FastAPI before
it is built waits for the build.
"""

from __future__ import annotations

import asyncio
import threading
import traceback
from typing import TYPE_CHECKING, Any

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from lookout.domain import audit as audit_door
from lookout.web.api import ready
from lookout.web.api.deps import AuthGuard
from lookout.web.api.ingest import Ingest
from lookout.web.api.limits import BodyLimit
from lookout.web.api.problems import problem
from lookout.web.prefix import ForwardedPrefix

if TYPE_CHECKING:
    from lookout.web.fronts.pool import IngestFronts


def create_app(site: Any, fronts: IngestFronts | None = None) -> ASGIApp:
    """The site's app; with ``fronts``, the ingest fronts start and stop with it (they serve
    ``POST /api/v1/results`` and hand every other connection to this app's server)."""
    api = LazyApi(site)
    inner = ForwardedPrefix(api, site.settings.site_name)
    ingest = Ingest(site)
    front = FrontDoor(BodyLimit(inner, site.settings.max_request_bytes), ingest, site)
    s = site.settings
    door = StandbyDoor(SiteLifespan(front, site, api, fronts), site)
    guard = AuthGuard(door, s.auth_failure_limit, s.auth_failure_window)
    if fronts is not None:
        fronts.wire(site, ingest, guard)
    return guard


class LazyApi:
    """FastAPI (:func:`lookout.web.api.routes.build_api`), built once: on a thread as soon as
    the site was launched (:meth:`prepare`), or by the first request that needs it."""

    def __init__(self, site: Any) -> None:
        self.site = site
        self.app: ASGIApp | None = None
        self._lock = threading.Lock()
        self._building: asyncio.Future[ASGIApp] | None = None

    def prepare(self) -> None:
        """Start building on a thread (the event loop keeps serving meanwhile)."""
        if self.app is None and self._building is None:
            self._building = asyncio.ensure_future(asyncio.to_thread(self._build))

    def _build(self) -> ASGIApp:
        with self._lock:  # one build, whichever thread or loop asks first
            if self.app is None:
                from lookout.web.api.routes import build_api

                self.app = build_api(self.site)
            return self.app

    async def get(self) -> ASGIApp:
        if self.app is not None:
            return self.app
        self.prepare()
        assert self._building is not None
        return await asyncio.shield(self._building)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self.app if self.app is not None else await self.get()
        await app(scope, receive, send)


class SiteLifespan:
    """ASGI lifespan: start the site (or wait as the standby), then the ingest fronts, and
    stop them in the reverse order; once launched, the API's FastAPI app is built."""

    def __init__(self, app: ASGIApp, site: Any, api: LazyApi, fronts: IngestFronts | None) -> None:
        self.app = app
        self.site = site
        self.api = api
        self.fronts = fronts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        for phase, step in (("startup", self.startup), ("shutdown", self.shutdown)):
            await receive()  # lifespan.startup, then lifespan.shutdown
            try:
                await step()
            except BaseException:
                message = traceback.format_exc()
                await send({"type": f"lifespan.{phase}.failed", "message": message})
                raise
            await send({"type": f"lifespan.{phase}.complete"})

    async def startup(self) -> None:
        """Launch the site while the ingest fronts start (their own processes import, on the
        other cores, while the site loads; they refuse input until it runs, as every door
        but the ops ones), then build the API's FastAPI app on a thread."""
        standby = self.site.standby
        standby.shut_doors()
        fronts = asyncio.ensure_future(self.fronts.start()) if self.fronts is not None else None
        try:
            await standby.launch()  # starts the site, or waits for the lock as the standby
        except BaseException:
            if fronts is not None:
                fronts.cancel()  # start() stops what it started
                await asyncio.gather(fronts, return_exceptions=True)
            raise
        if fronts is not None:
            try:
                await fronts
            except BaseException:
                await standby.stop()
                raise
        self.api.prepare()

    async def shutdown(self) -> None:
        try:
            if self.fronts is not None:
                await self.fronts.stop()  # their requests in flight are answered first
        finally:
            await self.site.standby.stop()


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
    """Sends ``POST /api/v1/results`` straight to the lean ingest app and answers ``GET`` of
    ``/healthz`` and ``/readyz`` itself, everything else to FastAPI: the hot path skips the
    framework's middleware and dependency machinery, and the probes need no FastAPI."""

    def __init__(self, app: ASGIApp, ingest: ASGIApp, site: Any) -> None:
        self.app = app
        self.ingest = ingest
        self.site = site

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/api/v1/results":
            if scope["method"] == "POST":
                await self.ingest(scope, receive, send)
            else:
                response = problem(
                    405, f"{scope['method']} not allowed here; use POST", headers={"Allow": "POST"}
                )
                await response(scope, receive, send)
        elif scope["type"] == "http" and scope["path"] in ready.PATHS:
            await ready.answer(self.site, scope, receive, send)
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
