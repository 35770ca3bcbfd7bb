"""Tokens and users (admin only)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import Response

from lookout import auth
from lookout.auth import Principal, Role
from lookout.errors import Conflict, ValidationError
from lookout.storage import accounts
from lookout.web.api.deps import require
from lookout.web.api.views import JSON
from lookout.wire.api import TokenIn, UserIn

router = APIRouter()
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
TokenId = Annotated[int, Path(ge=1, le=2**63 - 1)]
"""Token ids are 64-bit integers in the database (a larger one made SQLite fail)."""


@router.get("/tokens")
async def list_tokens(request: Request, _: Admin) -> Response:
    items = await asyncio.to_thread(accounts.list_tokens, request.app.state.site.db)
    return JSON({"total": len(items), "items": items})


@router.post("/tokens", status_code=201)
async def create_token(body: TokenIn, request: Request, who: Admin) -> Response:
    site = request.app.state.site
    user = body.user or who.user
    row = await asyncio.to_thread(accounts.get_user, site.db, user)
    if not Role(row.role).allows(Role(body.role)):
        raise ValidationError(
            f"a token of user {user!r} (role {row.role}) cannot have role {body.role}", ("role",)
        )
    if body.expires_at is not None and body.expires_at <= site.clock():
        raise ValidationError("expires_at lies in the past", ("expires_at",))
    token = auth.new_token()
    token_hash = auth.hash_token(token)
    token_id = await asyncio.to_thread(
        lambda: accounts.add_token(
            site.db,
            name=body.name,
            user=user,
            role=body.role,
            token_hash=token_hash,
            at=site.clock(),
            expires_at=body.expires_at,
        )
    )
    site.tokens.put(
        token_hash,
        auth.Principal(
            user=user, role=Role(body.role), token_id=token_id, expires_at=body.expires_at
        ),
    )
    after = {**body.model_dump(mode="json"), "user": user, "id": token_id, "token": token}
    await site.audit.record("token", str(token_id), "create", after=after)
    return JSON(
        {
            "id": token_id,
            "name": body.name,
            "user": user,
            "role": body.role,
            "expires_at": body.expires_at,
            "token": token,
        },
        status_code=201,
    )


@router.delete("/tokens/{token_id}", status_code=204)
async def revoke_token(token_id: TokenId, request: Request, _: Admin) -> Response:
    site = request.app.state.site
    await asyncio.to_thread(accounts.revoke_token, site.db, token_id, site.clock())
    site.tokens.revoke(token_id)
    await site.audit.record("token", str(token_id), "revoke")
    return Response(status_code=204)


@router.get("/users")
async def list_users(request: Request, _: Admin) -> Response:
    items = await asyncio.to_thread(accounts.list_users, request.app.state.site.db)
    return JSON({"total": len(items), "items": items})


@router.post("/users", status_code=201)
async def create_user(body: UserIn, request: Request, _: Admin) -> Response:
    site = request.app.state.site
    pw = auth.hash_password(body.password) if body.password else None
    await asyncio.to_thread(
        accounts.add_user, site.db, body.name, body.role, site.clock(), body.email, pw
    )
    await site.audit.record("user", body.name, "create", after=body.model_dump(mode="json"))
    return JSON({"name": body.name, "role": body.role, "email": body.email}, status_code=201)


@router.delete("/users/{name}", status_code=204)
async def delete_user(name: str, request: Request, who: Admin) -> Response:
    site = request.app.state.site
    if name == who.user:
        raise Conflict("refusing to delete the calling user")
    await asyncio.to_thread(accounts.delete_user, site.db, name)
    site.tokens.revoke_user(name)
    await site.audit.record("user", name, "delete")
    return Response(status_code=204)


@router.post("/checkpoint")
async def checkpoint(request: Request, _: Admin) -> Response:
    """Store a checkpoint now and answer once it is stored: a backup taken right after holds
    the site's state with (almost) no journal to replay. The site manager calls it before
    each backup of a running site."""
    site = request.app.state.site
    await site.runner.checkpoint_soon()
    return JSON({"checkpoint_at": site.clock()})
