"""Authentication and role checks shared by the routers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from starlette.exceptions import HTTPException

from lookout.auth import Principal, Role


def authenticate(site: Any, request: Request) -> Principal | None:
    return authenticate_header(site, request.headers.get("authorization", ""))


def authenticate_header(site: Any, header: str) -> Principal | None:
    """The principal of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    principal: Principal | None = site.tokens.lookup(token.strip(), site.clock())
    return principal


def require(role: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the caller's principal, if its role is at least ``role``. Async on
    purpose: FastAPI runs plain functions in a thread pool, a thread hop per request."""

    async def dependency(request: Request) -> Principal:
        principal = authenticate(request.app.state.site, request)
        if principal is None:
            raise HTTPException(
                401, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"}
            )
        if not principal.role.allows(role):
            raise HTTPException(403, f"role {principal.role} may not do this (needs {role})")
        return principal

    return dependency


def author_of(principal: Principal, requested: str | None) -> str:
    """The token's user, unless an admin names someone else (e.g. a bot acting for a person)."""
    if requested and requested != principal.user:
        if not principal.role.allows(Role.ADMIN):
            raise HTTPException(403, "only admins may set another author")
        return requested
    return principal.user
