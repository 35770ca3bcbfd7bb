"""Log-in and log-out. The log-in form has its own double-submit CSRF token (a cookie scoped to
``/login``) since there is no session yet; a GET never logs out."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from lookout import auth
from lookout.auth import Role
from lookout.errors import NotFound
from lookout.storage import accounts
from lookout.web.ui.pending import PENDING_SECONDS, Purpose
from lookout.web.ui.throttle import LoginThrottle
from lookout.web.ui.timing import TimedRoute
from lookout.web.ui.web import (
    current,
    form_of,
    login_cookie,
    pending_cookie,
    pending_of,
    redirect,
    render,
    root_of,
    safe_next,
    session_cookie,
    sessions_of,
    site_of,
    twofactor_of,
)

router = APIRouter(include_in_schema=False, route_class=TimedRoute)


def _secure(request: Request) -> bool:
    """Secure cookies when the browser talks TLS to us or the public URL is https."""
    return request.url.scheme == "https" or site_of(request).settings.url.startswith("https:")


@router.get("/login")
async def login_page(request: Request, next: str = "") -> Response:
    token = secrets.token_urlsafe(24)
    resp = render(
        request,
        None,
        "login.html",
        title="Log in",
        login_csrf=token,
        next=safe_next(next, "/", root_of(request)),
    )
    set_cookie(request, resp, login_cookie(request), token, 3600, path="/login")
    return resp


def set_cookie(
    request: Request, resp: Response, name: str, value: str, max_age: int, path: str = "/"
) -> None:
    resp.set_cookie(
        name,
        value,
        max_age=max_age,
        path=root_of(request) + path,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    user = str(form.get("user", "")).strip()
    password = str(form.get("password", ""))
    presented = str(form.get("csrf", ""))
    expected = request.cookies.get(login_cookie(request), "")
    next_url = safe_next(str(form.get("next", "")), "/", root_of(request))
    if not expected or not hmac.compare_digest(presented, expected):
        return render(
            request,
            None,
            "error.html",
            status_code=403,
            title="Refused",
            why="the log-in form expired or was not sent by this site: reload it and try again",
        )
    site = site_of(request)
    throttle: LoginThrottle = request.app.state.ui_throttle
    keys = (f"user:{user.lower()}", f"addr:{request.client.host if request.client else ''}")
    wait = throttle.wait(keys, site.clock())
    if wait > 0:
        return render(
            request,
            None,
            "login.html",
            status_code=429,
            title="Log in",
            login_csrf=presented,
            next=next_url,
            user=user,
            error=f"Too many failed log-ins: try again in {int(wait) + 1} s.",
        )
    role = await asyncio.to_thread(_check_password, site.db, user, password)
    if role is None:
        throttle.failed(keys, site.clock())
        token = secrets.token_urlsafe(24)
        resp = render(
            request,
            None,
            "login.html",
            status_code=401,
            title="Log in",
            login_csrf=token,
            next=next_url,
            user=user,
            error="Wrong user name or password.",
        )
        set_cookie(request, resp, login_cookie(request), token, 3600, path="/login")
        return resp
    second = await asyncio.to_thread(twofactor_of(request).state, user)
    if second == "on" or site.settings.auth.require_totp:
        # the user's failure count is kept until the second step is done too: a right password
        # must not buy fresh guesses at the code
        purpose: Purpose = "code" if second == "on" else "enrol"
        half = pending_of(request).create(user, role, next_url, purpose, site.clock())
        step = redirect(request, "/login/totp" if purpose == "code" else "/login/enrol")
        set_cookie(request, step, pending_cookie(request), half, int(PENDING_SECONDS), "/login")
        step.delete_cookie(login_cookie(request), path=root_of(request) + "/login")
        return step
    throttle.succeeded(keys)
    return await start_session(request, RedirectResponse(next_url, status_code=303), user, role)


async def start_session(request: Request, resp: Response, user: str, role: Role) -> Response:
    """Log ``user`` in: a new session whose cookie ``resp`` sets; the log-in form's and a half
    log-in's cookies go."""
    site = site_of(request)
    cookie, _ = await asyncio.to_thread(sessions_of(request).create, user, role, site.clock())
    set_cookie(request, resp, session_cookie(request), cookie, int(sessions_of(request).lifetime))
    resp.delete_cookie(login_cookie(request), path=root_of(request) + "/login")
    resp.delete_cookie(pending_cookie(request), path=root_of(request) + "/login")
    return resp


def _check_password(db: Any, user: str, password: str) -> Role | None:
    try:
        row = accounts.get_user(db, user)
    except NotFound:
        auth.hash_password(password)  # same time as a wrong password: no user enumeration
        return None
    if not row.password_hash or not auth.verify_password(password, row.password_hash):
        return None
    return Role(row.role)


@router.post("/logout")
async def logout(request: Request) -> Response:
    sess, _ = await form_of(request, Role.VIEWER)
    await asyncio.to_thread(sessions_of(request).end, sess)
    resp = redirect(request, "/login")
    resp.delete_cookie(session_cookie(request), path=root_of(request) + "/")
    return resp


@router.get("/logout")
async def logout_get(request: Request) -> Response:
    """A GET never logs out (a link on another site could): show the button instead."""
    return render(request, current(request), "logout.html", title="Log out")
