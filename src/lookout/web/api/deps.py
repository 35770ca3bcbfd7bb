"""Authentication and role checks shared by the routers, and the throttle of failed bearer
tokens.

Failed authentications are counted per client address (IPv6: per /64); after
``auth_failure_limit`` of them within ``auth_failure_window`` seconds the address gets 429 with
``Retry-After`` until its oldest counted failure has left the window. Only a presented bearer
token that does not authenticate counts; a request without credentials is no guess. A blocked
address is not asked for its tokens at all, except for tokens that have already authenticated
from it: those keep working, so a busy client is not locked out by a neighbour behind the same
address, and a guess during the block learns nothing (it gets 429 whether it is right or not).
A valid token is never slowed: its path is one dict lookup more than before.

The address is the TCP peer's (``lookout serve`` trusts no proxy headers): behind a reverse
proxy every client shares the proxy's address, so one client's failures block the others' new
tokens; see the README.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from lookout.auth import Principal, Role
from lookout.domain import audit
from lookout.errors import TemporaryFailure
from lookout.web.api.problems import problem
from lookout.web.throttle import FailureThrottle

log = logging.getLogger(__name__)

MAX_TRUSTED = 10_000
"""Client addresses whose good tokens are remembered (the oldest are forgotten first)."""
MAX_TOKENS_PER_ADDRESS = 64
"""Good tokens remembered per address (more: start over)."""


class TooManyFailures(TemporaryFailure):
    """The client's address made too many failed authentications; answered with 429."""


def authenticate(site: Any, request: Request) -> Principal | None:
    return authenticate_header(site, request.headers.get("authorization", ""))


def authenticate_header(site: Any, header: str) -> Principal | None:
    """The principal of an ``Authorization: Bearer <token>`` header, or None. Raises
    :class:`TooManyFailures` when the caller's address is blocked (see the module doc)."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    now = site.clock()
    principal: Principal | None = site.tokens.lookup(token, now)
    caller = _caller.get()
    if caller is None:  # not inside an AuthGuard (e.g. a test of one router)
        return principal
    return caller.throttle.judge(caller.address, principal, now)


def require(role: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the caller's principal, if its role is at least ``role``. Async on
    purpose: FastAPI runs plain functions in a thread pool, a thread hop per request."""

    async def dependency(request: Request) -> Principal:
        try:
            principal = authenticate(request.app.state.site, request)
        except TooManyFailures as exc:
            raise HTTPException(429, str(exc), headers=retry_after(exc)) from exc
        if principal is None:
            raise HTTPException(
                401, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"}
            )
        door = audit.current()
        if door is not None:
            door.user = principal.user
        if not principal.role.allows(role):
            raise HTTPException(403, f"role {principal.role} may not do this (needs {role})")
        return principal

    return dependency


def author_of(principal: Principal, requested: str | None) -> str:
    """The token's user, unless an admin names someone else (e.g. a bot acting for a person),
    or the token's user vouches for a person: ``"alice via <token's user>"`` (a central site
    acting for its user, issue 12)."""
    if not requested or requested == principal.user:
        return principal.user
    via = f" via {principal.user}"
    if requested.endswith(via) and requested[: -len(via)].strip():
        return requested
    if not principal.role.allows(Role.ADMIN):
        raise HTTPException(403, "only admins may set another author")
    return requested


# ---------------------------------------------------------------------- failed-token throttle
def retry_after(exc: TooManyFailures) -> dict[str, str]:
    return {"Retry-After": str(math.ceil(exc.retry_after or 1))}


def address_key(address: str) -> str:
    """The throttled unit of a client address: itself, or its /64 for IPv6 (one machine
    usually has a whole /64 to pick addresses from)."""
    if ":" not in address:
        return address
    try:
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    except ValueError:
        return address


class AuthThrottle:
    """Failed authentications per address, and the tokens that succeeded from each address."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.failures = FailureThrottle((limit,), window)
        self._good: dict[str, set[int]] = {}

    def judge(self, address: str, principal: Principal | None, now: float) -> Principal | None:
        """``principal`` (None: the token failed), unless ``address`` is blocked: then raise
        :class:`TooManyFailures`, except for a token that has authenticated from it before."""
        key = address_key(address)
        if principal is not None:
            good = self._good.get(key)
            if good is not None and principal.token_id in good:
                return principal
            self._check(key, now)
            self._remember(key, principal.token_id)
            return principal
        self._check(key, now)
        self.failures.failed((key,), now)
        if self.failures.wait((key,), now) > 0:
            log.warning(
                "%d failed API authentications from %s within %g s: its new tokens wait",
                self.limit,
                key,
                self.failures.window,
            )
        return None

    def _check(self, key: str, now: float) -> None:
        wait = self.failures.wait((key,), now)
        if wait > 0:
            raise TooManyFailures(
                f"too many failed authentications from your address; try again in "
                f"{math.ceil(wait)} s",
                retry_after=wait,
            )

    def _remember(self, key: str, token_id: int) -> None:
        good = self._good.pop(key, None)  # re-inserted: the dict's order is recency
        if good is None or len(good) >= MAX_TOKENS_PER_ADDRESS:
            good = set()
        good.add(token_id)
        self._good[key] = good
        if len(self._good) > MAX_TRUSTED:
            del self._good[next(iter(self._good))]


@dataclass(frozen=True, slots=True)
class _Caller:
    throttle: AuthThrottle
    address: str


_caller: ContextVar[_Caller | None] = ContextVar("lookout_api_caller", default=None)


class AuthGuard:
    """ASGI wrapper of the site's app: tells :func:`authenticate_header` who is calling (the
    lean ingestion route has no ``Request``) and answers 429 problem+json when it refuses."""

    def __init__(self, app: ASGIApp, limit: int, window: float) -> None:
        self.app = app
        self.throttle = AuthThrottle(limit, window) if limit > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.throttle is None:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        reset = _caller.set(_Caller(self.throttle, client[0] if client else ""))
        try:
            await self.app(scope, receive, send)
        except TooManyFailures as exc:  # raised by authentication, before any answer started
            await too_many(exc)(scope, receive, send)
        finally:
            _caller.reset(reset)

    def judge(self, address: str, check: Callable[[], Response | None]) -> Response | None:
        """``check()`` (an authentication) as if called inside this guard from ``address``:
        how the ingest fronts' requests, which reach the site without an ASGI scope, are
        throttled like the site's own."""
        if self.throttle is None:
            return check()
        reset = _caller.set(_Caller(self.throttle, address))
        try:
            return check()
        except TooManyFailures as exc:
            return too_many(exc)
        finally:
            _caller.reset(reset)


def too_many(exc: TooManyFailures) -> Response:
    return problem(429, str(exc), headers=retry_after(exc))
