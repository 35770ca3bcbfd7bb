"""The user's own page: who they are, and the Zulip accounts they act as in chat (linked with a
one-time code the Zulip bot sends privately, since Zulip may hide e-mails from bots)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from lookout.auth import Role
from lookout.web.ui import integrations
from lookout.web.ui.sessions import Session
from lookout.web.ui.timing import TimedRoute
from lookout.web.ui.web import back, first, form_of, render, site_of, twofactor_of, viewer

router = APIRouter(include_in_schema=False, route_class=TimedRoute)
Viewer = Annotated[Session, Depends(viewer)]


@router.get("/profile")
async def profile(request: Request, sess: Viewer) -> Response:
    site = site_of(request)
    twofactor = twofactor_of(request)
    return render(
        request,
        sess,
        "profile.html",
        title="Profile",
        totp=await asyncio.to_thread(twofactor.state, sess.user),
        recovery_left=await asyncio.to_thread(twofactor.recovery_left, sess.user),
        totp_required=site.settings.auth.require_totp,
        links=await integrations.zulip_links(site, sess.user),
        chat=integrations.chat_available(site),
    )


@router.post("/profile/zulip")
async def link_zulip(request: Request) -> Response:
    sess, data = await form_of(request, Role.VIEWER)
    code = first(data, "code")
    if not code or len(code) > 64:
        sess.flash.append(("error", "code: send `link` to the Lookout bot in Zulip for one"))
        return back(request, data, "/profile")
    name = await integrations.redeem_zulip_code(site_of(request), code, sess.user)
    if name is None:
        sess.flash.append(("error", "code: unknown or expired; send `link` to the bot again"))
    else:
        sess.flash.append(("ok", f"Zulip account {name} now acts as {sess.user}"))
    return back(request, data, "/profile")


@router.post("/profile/zulip/unlink")
async def unlink_zulip(request: Request) -> Response:
    sess, data = await form_of(request, Role.VIEWER)
    realm, user_id = first(data, "realm"), first(data, "user_id")
    if not user_id.isascii() or not user_id.isdigit():
        sess.flash.append(("error", f"user_id: {user_id!r} is not a Zulip user id"))
        return back(request, data, "/profile")
    if await integrations.unlink_zulip(site_of(request), sess.user, realm, int(user_id)):
        sess.flash.append(("ok", "Zulip account unlinked"))
    return back(request, data, "/profile")
