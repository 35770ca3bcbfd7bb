"""The second step of a log-in (``login.py`` sends a half-logged-in browser here): a TOTP code
or a recovery code, or — when the site requires a second factor and the user has none yet —
enrolment. Wrong codes count against the same throttle as wrong passwords, and the password's
success does not reset it until this step is done."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from lookout.web.ui.login import start_session
from lookout.web.ui.pending import Pending
from lookout.web.ui.throttle import LoginThrottle
from lookout.web.ui.timing import TimedRoute
from lookout.web.ui.web import (
    pending_cookie,
    pending_of,
    redirect,
    render,
    root_of,
    site_of,
    twofactor_of,
)

router = APIRouter(include_in_schema=False, route_class=TimedRoute)
MAX_CODE = 64


def _pending(request: Request) -> Pending | None:
    return pending_of(request).get(
        request.cookies.get(pending_cookie(request)), site_of(request).clock()
    )


def _keys(request: Request, pend: Pending) -> tuple[str, str]:
    return (f"user:{pend.user.lower()}", f"addr:{request.client.host if request.client else ''}")


def _refused(request: Request) -> Response:
    why = "the log-in form expired or was not sent by this site: log in again"
    return render(request, None, "error.html", status_code=403, title="Refused", why=why)


@router.get("/login/totp")
async def code_page(request: Request) -> Response:
    pend = _pending(request)
    if pend is None or pend.purpose != "code":
        return redirect(request, "/login")
    return render(request, None, "login_totp.html", title="Log in", csrf=pend.csrf)


@router.post("/login/totp")
async def code(request: Request) -> Response:
    pend = _pending(request)
    if pend is None or pend.purpose != "code":
        return redirect(request, "/login")
    form = await request.form()
    if not pend.csrf_ok(str(form.get("csrf", ""))):
        return _refused(request)
    error = await _check(request, pend, str(form.get("code", "")))
    if error is not None:
        status, text = error
        page = "login_totp.html"
        return render(request, None, page, status, title="Log in", csrf=pend.csrf, error=text)
    pending_of(request).end(request.cookies.get(pending_cookie(request)))
    done = RedirectResponse(pend.next, status_code=303)
    return await start_session(request, done, pend.user, pend.role)


@router.get("/login/enrol")
async def enrol_page(request: Request) -> Response:
    pend = _pending(request)
    if pend is None or pend.purpose != "enrol":
        return redirect(request, "/login")
    return await _enrol_form(request, pend)


async def _enrol_form(
    request: Request, pend: Pending, status: int = 200, error: str | None = None
) -> Response:
    enrolment = await asyncio.to_thread(twofactor_of(request).enrolment, pend.user)
    if enrolment is None:  # turned on meanwhile (another tab): log in with a code
        return redirect(request, "/login")
    return render(
        request,
        None,
        "totp_enrol.html",
        status,
        title="Set up two-factor log-in",
        csrf=pend.csrf,
        action=root_of(request) + "/login/enrol",
        enrolment=enrolment,
        required=True,
        user=pend.user,
        error=error,
    )


@router.post("/login/enrol")
async def enrol(request: Request) -> Response:
    pend = _pending(request)
    if pend is None or pend.purpose != "enrol":
        return redirect(request, "/login")
    form = await request.form()
    if not pend.csrf_ok(str(form.get("csrf", ""))):
        return _refused(request)
    throttle: LoginThrottle = request.app.state.ui_throttle
    keys = _keys(request, pend)
    wait = throttle.wait(keys, site_of(request).clock())
    if wait > 0:
        return await _enrol_form(request, pend, 429, _too_many(wait))
    code = str(form.get("code", ""))[:MAX_CODE]
    codes = await asyncio.to_thread(twofactor_of(request).confirm, pend.user, code)
    if codes is None:
        throttle.failed(keys, site_of(request).clock())
        return await _enrol_form(
            request, pend, 401, "Wrong code: type the 6 digits the app shows now."
        )
    throttle.succeeded(keys)
    await site_of(request).audit.record("user", pend.user, "totp-on", author=pend.user)
    pending_of(request).end(request.cookies.get(pending_cookie(request)))
    page = render(
        request, None, "totp_codes.html", title="Recovery codes", codes=codes, next=pend.next
    )
    return await start_session(request, page, pend.user, pend.role)


async def _check(request: Request, pend: Pending, code: str) -> tuple[int, str] | None:
    """None when ``code`` is right (the throttle forgets the user), else (status, message)."""
    throttle: LoginThrottle = request.app.state.ui_throttle
    keys = _keys(request, pend)
    now = site_of(request).clock()
    wait = throttle.wait(keys, now)
    if wait > 0:
        return 429, _too_many(wait)
    if len(code) > MAX_CODE or not await asyncio.to_thread(
        twofactor_of(request).check, pend.user, code
    ):
        throttle.failed(keys, now)
        return 401, "Wrong or already used code."
    throttle.succeeded(keys)
    return None


def _too_many(wait: float) -> str:
    return f"Too many failed log-ins: try again in {int(wait) + 1} s."
