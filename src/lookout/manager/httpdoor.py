"""The HTTP(S) front door: ``/<site>/…`` is proxied to the site's own port (issue 13).

An ASGI app (served by uvicorn in the door process) over httpx's streaming client, which keeps
connections to the sites alive. Bodies stream both ways. The site is told where the request
came from and under which prefix it is served (``X-Forwarded-For``, ``-Proto``, ``-Host``,
``-Prefix``); what a client sent in those headers is replaced, never passed on. An unknown site
is a 404 saying so, a stopped one a 503 with ``Retry-After``, as is a site that does not answer
(starting, restarting).

The control plane's own pages are behind the same door when ``[signup]`` is on: ``/signup…``
(sign-up, a customer's further sites), ``/oidc/…`` and ``/.well-known/…`` (its OpenID
provider) go, path unchanged, to the sign-up process (``CONTROL_PATHS``; no site may take
those names).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import httpx
from starlette.types import Message, Receive, Scope, Send

from lookout.manager.routes import Routes

log = logging.getLogger(__name__)
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-forwarded-prefix",
        b"forwarded",
    }
)
CONTROL_PATHS = frozenset({"signup", "oidc", ".well-known"})
"""First path segments that are the control plane's, not a site's."""
STOPPED_RETRY = 60
"""Seconds a client is told to wait for a stopped site (it is started by its admin)."""
STARTING_RETRY = 5
"""Seconds a client is told to wait for a site that does not answer (it is being started)."""


def new_client() -> httpx.AsyncClient:
    """Kept-alive connections to the sites; generous limits (one door serves every site)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(300.0, connect=5.0, pool=30.0),
        limits=httpx.Limits(max_connections=2000, max_keepalive_connections=400),
        follow_redirects=False,
        trust_env=False,
    )


class HttpDoor:
    def __init__(
        self,
        routes: Routes,
        host: str,
        client: httpx.AsyncClient,
        control: tuple[str, int] | None = None,
    ) -> None:
        self.routes = routes
        self.host = _local(host)
        self.client = client
        self.control = None if control is None else (_local(control[0]), control[1])
        """Host and port of the sign-up process (None: sign-up is off)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":  # websockets: the sites use none
            return
        raw: bytes = scope.get("raw_path") or scope["path"].encode()
        name, _, rest = raw.partition(b"?")[0].lstrip(b"/").partition(b"/")
        site = name.decode("ascii", "replace")
        if not site:
            await _answer(send, 404, "no site in the path: use /<site>/")
            return
        if site in CONTROL_PATHS and self.control is not None:
            await self._proxy(scope, receive, send, "", *self.control, raw.partition(b"?")[0])
            return
        route = self.routes.get(site)
        if route is None:
            await _answer(send, 404, f"no site named {site!r} here")
            return
        if not rest and not raw.startswith(b"/" + name + b"/"):  # /acme → /acme/
            query = b"?" + scope["query_string"] if scope.get("query_string") else b""
            location = (b"/" + name + b"/" + query).decode("latin-1")
            await _answer(send, 308, f"the site is at {location}", {"location": location})
            return
        if not route.running:
            await _answer(
                send, 503, f"site {site!r} is stopped", {"retry-after": str(STOPPED_RETRY)}
            )
            return
        await self._proxy(scope, receive, send, site, self.host, route.http_port, b"/" + rest)

    async def _proxy(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        site: str,
        host: str,
        port: int,
        path: bytes,
    ) -> None:
        """Pass the request to ``host:port`` (a site, or with ``site`` "" the control plane)."""
        query = scope.get("query_string", b"")
        url = httpx.URL(
            scheme="http",
            host=host,
            port=port,
            raw_path=path + (b"?" + query if query else b""),
        )
        # a Request of our own: the client's defaults (Accept-Encoding, User-Agent) stay out
        names = {k for k, _ in scope["headers"]}
        body = _body(receive) if names & {b"content-length", b"transfer-encoding"} else None
        request = httpx.Request(
            scope["method"], url, headers=self._headers(scope, site), content=body
        )
        try:
            response = await self.client.send(request, stream=True)
        except httpx.ConnectError:
            retry = {"retry-after": str(STARTING_RETRY)}
            await _answer(send, 503, f"{_what(site)} does not answer (starting?)", retry)
            return
        except httpx.TimeoutException:
            await _answer(send, 504, f"{_what(site)} did not answer in time")
            return
        except httpx.TransportError as exc:
            await _answer(send, 502, f"{_what(site)}: {exc}")
            return
        try:
            headers = [(k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP]
            await send(
                {"type": "http.response.start", "status": response.status_code, "headers": headers}
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        except httpx.TransportError as exc:  # the site went away mid-answer: cut it short
            log.warning("site %s: answer cut short: %s", site, exc)
        finally:
            await response.aclose()

    def _headers(self, scope: Scope, site: str) -> list[tuple[bytes, bytes]]:
        headers = [(k, v) for k, v in scope["headers"] if k not in HOP_BY_HOP]
        host = next((v for k, v in scope["headers"] if k == b"host"), b"")
        client = scope.get("client")
        headers += [
            (b"x-forwarded-for", (client[0] if client else "").encode()),
            (b"x-forwarded-proto", scope.get("scheme", "http").encode()),
        ]
        if site:  # the control plane's paths are its own, unprefixed
            headers.append((b"x-forwarded-prefix", f"/{site}".encode()))
        if host:
            headers.append((b"x-forwarded-host", host))
        return headers

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _local(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def _what(site: str) -> str:
    return f"site {site!r}" if site else "the sign-up pages"


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def _answer(
    send: Send, status: int, detail: str, extra: dict[str, str] | None = None
) -> None:
    """A problem+json answer of the door itself."""
    body = json.dumps({"title": detail, "status": status, "detail": detail}).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        *((k.encode(), v.encode("latin-1")) for k, v in (extra or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
