"""``/healthz`` and ``/readyz``, answered without FastAPI.

They must answer while the site starts and before the REST API's FastAPI app is built
(:class:`lookout.web.api.app.LazyApi` builds it once the site runs): a probe, a supervisor
and a load balancer ask them first. ``GET`` only (405 otherwise, as FastAPI answered).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from lookout.auth import Role
from lookout.web.api.deps import TooManyFailures, authenticate
from lookout.web.api.problems import problem
from lookout.web.api.views import JSON

PATHS = frozenset({"/healthz", "/readyz"})


async def answer(site: Any, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer a request for one of :data:`PATHS`."""
    if scope["method"] != "GET":
        response = problem(405, "Method Not Allowed", headers={"Allow": "GET"})
    elif scope["path"] == "/healthz":
        response = healthz()
    else:
        response = readyz(site, Request(scope, receive))
    await response(scope, receive, send)


def healthz() -> Response:
    return JSON({"status": "ok"})


def readyz(site: Any, request: Request) -> Response:
    """200 when ready — the engine holds every configured host and service and the runner
    takes input — else 503 "not ready". Why (the failed write's error names SQL and row data)
    only for an admin token; it is in the log too."""
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


def _is_admin(site: Any, request: Request) -> bool:
    try:
        principal = authenticate(site, request)
    except TooManyFailures:  # a probe gets its answer all the same, without the reason
        return False
    return principal is not None and principal.role.allows(Role.ADMIN)
