"""One-time log-in links (``storage/loginlinks.py``): ``GET /login/link?token=…`` shows a button,
and its POST uses the token up and logs in. The GET changes nothing, so a link preview or a
prefetching proxy cannot use the token before the person does."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from starlette.responses import Response

from lookout.auth import Role
from lookout.storage import loginlinks
from lookout.web.ui.login import start_session
from lookout.web.ui.timing import TimedRoute
from lookout.web.ui.web import redirect, render, site_of

router = APIRouter(include_in_schema=False, route_class=TimedRoute)


@router.get("/login/link")
async def link_page(request: Request, token: str = "") -> Response:
    return render(request, None, "login_link.html", title="Log in", token=token[:100])


@router.post("/login/link")
async def use_link(request: Request) -> Response:
    form = await request.form()
    token = str(form.get("token", ""))[:100]
    site = site_of(request)
    found = (
        await asyncio.to_thread(loginlinks.redeem, site.db, token, site.clock()) if token else None
    )
    if found is None:
        why = "this log-in link is unknown, used or expired: log in with your password"
        return render(request, None, "error.html", 403, title="Log-in refused", why=why)
    user, role = found
    return await start_session(request, redirect(request, "/"), user, Role(role))
