"""The UI's route class: every UI response gets ``Server-Timing: app;dur=<ms>`` (the handler's
time, so the benchmark and a browser's dev tools see the server apart from the network) and the
security headers a page with action forms needs (no framing, a strict content policy: the UI
has no inline script or style and loads nothing from elsewhere)."""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class TimedRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def timed(request: Request) -> Response:
            t0 = time.perf_counter()
            response = await handler(request)
            ms = (time.perf_counter() - t0) * 1000
            response.headers["Server-Timing"] = f"app;dur={ms:.1f}"
            response.headers.update(SECURITY_HEADERS)
            return response

        return timed
