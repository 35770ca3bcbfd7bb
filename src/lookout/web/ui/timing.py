"""``Server-Timing: app;dur=<ms>`` on every UI response: the time the handler took, so the
benchmark (and a browser's dev tools) see the server side apart from the network."""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response


class TimedRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def timed(request: Request) -> Response:
            t0 = time.perf_counter()
            response = await handler(request)
            ms = (time.perf_counter() - t0) * 1000
            response.headers["Server-Timing"] = f"app;dur={ms:.1f}"
            return response

        return timed
