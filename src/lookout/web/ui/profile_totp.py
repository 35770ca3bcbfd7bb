"""The user's own second factor on the profile page: set it up (QR code, first code, recovery
codes shown once), new recovery codes, turn it off. Changes that weaken it need a current
code; turning it off is refused where the site requires it."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from lookout.auth import Role
from lookout.web.ui.sessions import Session
from lookout.web.ui.shown_once import ShownOnce
from lookout.web.ui.throttle import LoginThrottle
from lookout.web.ui.timing import TimedRoute
from lookout.web.ui.web import (
    first,
    form_of,
    redirect,
    render,
    root_of,
    site_of,
    twofactor_of,
    viewer,
)

router = APIRouter(include_in_schema=False, route_class=TimedRoute)
Viewer = Annotated[Session, Depends(viewer)]
RECOVERY = "recovery_codes"


@router.get("/profile/totp")
async def enrol_page(request: Request, sess: Viewer) -> Response:
    enrolment = await asyncio.to_thread(twofactor_of(request).enrolment, sess.user)
    if enrolment is None:
        sess.flash.append(("ok", "Two-factor log-in is already on"))
        return redirect(request, "/profile")
    return render(
        request,
        sess,
        "totp_enrol.html",
        title="Set up two-factor log-in",
        action=root_of(request) + "/profile/totp/confirm",
        enrolment=enrolment,
        required=False,
        user=sess.user,
    )


@router.post("/profile/totp/confirm")
async def confirm(request: Request) -> Response:
    sess, data = await form_of(request, Role.VIEWER)
    if not await _unthrottled(request, sess):
        return redirect(request, "/profile/totp")
    codes = await asyncio.to_thread(twofactor_of(request).confirm, sess.user, first(data, "code"))
    if codes is None:
        _failed(request, sess)
        sess.flash.append(("error", "code: wrong; type the 6 digits the app shows now"))
        return redirect(request, "/profile/totp")
    await site_of(request).audit.record("user", sess.user, "totp-on")
    return await _show_codes(request, sess, codes)


@router.get("/profile/totp/codes")
async def codes_page(request: Request, sess: Viewer) -> Response:
    shown: ShownOnce = request.app.state.ui_shown_once
    codes = await asyncio.to_thread(shown.take, sess.id_hash, RECOVERY)
    if codes is None:
        return redirect(request, "/profile")
    return render(
        request,
        sess,
        "totp_codes.html",
        title="Recovery codes",
        codes=codes,
        next=root_of(request) + "/profile",
    )


@router.post("/profile/totp/recovery")
async def new_recovery(request: Request) -> Response:
    sess, data = await form_of(request, Role.VIEWER)
    if not await _code_ok(request, sess, first(data, "code")):
        return redirect(request, "/profile")
    codes = await asyncio.to_thread(twofactor_of(request).new_recovery, sess.user)
    await site_of(request).audit.record("user", sess.user, "totp-recovery-codes")
    return await _show_codes(request, sess, codes)


@router.post("/profile/totp/off")
async def turn_off(request: Request) -> Response:
    sess, data = await form_of(request, Role.VIEWER)
    if site_of(request).settings.auth.require_totp:
        sess.flash.append(("error", "this site requires two-factor log-in ([auth] require_totp)"))
        return redirect(request, "/profile")
    if await _code_ok(request, sess, first(data, "code")):
        await asyncio.to_thread(twofactor_of(request).reset, sess.user)
        await site_of(request).audit.record("user", sess.user, "totp-off")
        sess.flash.append(("ok", "Two-factor log-in is off"))
    return redirect(request, "/profile")


async def _show_codes(request: Request, sess: Session, codes: list[str]) -> Response:
    shown: ShownOnce = request.app.state.ui_shown_once
    await asyncio.to_thread(shown.put, sess.id_hash, RECOVERY, codes)
    return redirect(request, "/profile/totp/codes")


async def _code_ok(request: Request, sess: Session, code: str) -> bool:
    """A current code (or a recovery code) confirms a change; a wrong one counts as a failure."""
    if not await _unthrottled(request, sess):
        return False
    if len(code) <= 64 and await asyncio.to_thread(twofactor_of(request).check, sess.user, code):
        return True
    _failed(request, sess)
    sess.flash.append(("error", "code: wrong or already used"))
    return False


def _keys(request: Request, sess: Session) -> tuple[str, str]:
    return (f"user:{sess.user.lower()}", f"addr:{request.client.host if request.client else ''}")


async def _unthrottled(request: Request, sess: Session) -> bool:
    throttle: LoginThrottle = request.app.state.ui_throttle
    wait = throttle.wait(_keys(request, sess), site_of(request).clock())
    if wait > 0:
        sess.flash.append(("error", f"Too many wrong codes: try again in {int(wait) + 1} s."))
        return False
    return True


def _failed(request: Request, sess: Session) -> None:
    throttle: LoginThrottle = request.app.state.ui_throttle
    throttle.failed(_keys(request, sess), site_of(request).clock())
