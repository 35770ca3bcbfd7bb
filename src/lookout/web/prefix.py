"""A site behind the site manager's front door, under ``/<site>`` (issue 13).

The front door strips ``/<site>`` from the path and names it in ``X-Forwarded-Prefix``. This
middleware turns that into ASGI's ``root_path`` (and puts it back in front of ``path``, as
Starlette's routing expects), so the UI's links, redirects, form actions and cookie paths and
the OpenAPI document's ``servers`` carry the prefix. Only the site's own prefix is taken: any
other value is ignored, so the header can never point links at another site or inject text.
Requests to the site's own port without the header are served at ``/`` as before.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

HEADER = b"x-forwarded-prefix"


class ForwardedPrefix:
    def __init__(self, app: ASGIApp, site_name: str) -> None:
        self.app = app
        self.prefix = f"/{site_name}"
        self._raw = self.prefix.encode("ascii")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not scope.get("root_path"):
            for name, value in scope.get("headers", ()):
                if name == HEADER:
                    if value == self._raw:
                        scope = {
                            **scope,
                            "root_path": self.prefix,
                            "path": self.prefix + scope["path"],
                            "raw_path": self._raw + scope.get("raw_path", b""),
                        }
                    break
        await self.app(scope, receive, send)
