"""State-changing forms: log-in/out, the operator's actions, and the admin's setup.

Every POST passes :func:`~lookout.web.ui.web.form_of` (session, CSRF token, role) before it does
anything; actions go through :class:`lookout.actions.Actions` with the logged-in user as author,
the same path as the REST API.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from typing import Any

import pydantic
from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from lookout import auth
from lookout.actions import Actions
from lookout.auth import Role
from lookout.checks.active.registry import validate_check_config
from lookout.domain.objects import HostConfig
from lookout.engine.inputs import Target
from lookout.errors import LookoutError, NotFound
from lookout.storage import accounts
from lookout.web.ui import passwords
from lookout.web.ui.sessions import COOKIE, LOGIN_COOKIE
from lookout.web.ui.throttle import LoginThrottle
from lookout.web.ui.timing import TimedRoute
from lookout.web.ui.web import (
    back,
    current,
    first,
    form_of,
    parse_target,
    render,
    safe_next,
    sessions_of,
    site_of,
)
from lookout.wire.api import HostIn

router = APIRouter(include_in_schema=False, route_class=TimedRoute)

DURATIONS = {"1h": 3600, "8h": 8 * 3600, "1d": 86400, "7d": 7 * 86400}


# ---------------------------------------------------------------------- log-in
def _secure(request: Request) -> bool:
    """Secure cookies when the browser talks TLS to us or the public URL is https."""
    return request.url.scheme == "https" or site_of(request).settings.url.startswith("https:")


@router.get("/login")
async def login_page(request: Request, next: str = "/") -> Response:
    token = secrets.token_urlsafe(24)
    resp = render(
        request, None, "login.html", title="Log in", login_csrf=token, next=safe_next(next)
    )
    _set_cookie(request, resp, LOGIN_COOKIE, token, 3600, path="/login")
    return resp


def _set_cookie(
    request: Request, resp: Response, name: str, value: str, max_age: int, path: str = "/"
) -> None:
    resp.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
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
    expected = request.cookies.get(LOGIN_COOKIE, "")
    next_url = safe_next(str(form.get("next", "/")))
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
        _set_cookie(request, resp, LOGIN_COOKIE, token, 3600, path="/login")
        return resp
    throttle.succeeded(keys)
    cookie, _ = await asyncio.to_thread(sessions_of(request).create, user, role, site.clock())
    done = RedirectResponse(next_url, status_code=303)
    _set_cookie(request, done, COOKIE, cookie, int(sessions_of(request).lifetime))
    done.delete_cookie(LOGIN_COOKIE, path="/login")
    return done


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
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp


# ---------------------------------------------------------------------- actions
@router.post("/act")
async def act(request: Request) -> Response:
    """Acknowledge, downtime, recheck, comment, remove ack, remove downtime, for one or many
    objects (``target`` values ``host:service``); back to ``next`` with a message."""
    sess, data = await form_of(request, Role.OPERATOR)
    actions: Actions = request.app.state.actions
    site = site_of(request)
    action = first(data, "action")
    comment = first(data, "comment")
    targets = [parse_target(v) for v in data.get("target", []) if v]
    done, failed = 0, []
    try:
        if action == "remove_downtime":
            ids = [int(v) for v in data.get("downtime", []) if v.isdigit()]
            if not ids:
                raise _Invalid("choose a downtime to remove")
            out = await actions.remove_downtime(author=sess.user, comment=comment, ids=ids)
            done = len(out.ids)
        else:
            if not targets:
                raise _Invalid("choose at least one host or service")
            for host, service in targets:
                try:
                    await _one(actions, site, action, host, service, sess.user, comment, data)
                    done += 1
                except LookoutError as exc:
                    failed.append(f"{host}{'/' + service if service else ''}: {exc}")
    except (_Invalid, LookoutError) as exc:
        sess.flash.append(("error", str(exc)))
        return back(data)
    verb = _VERBS.get(action, action)
    if done:
        sess.flash.append(("ok", f"{verb}: {done} object{'s' if done != 1 else ''}"))
    for text in failed[:10]:
        sess.flash.append(("error", text))
    return back(data)


_VERBS = {
    "ack": "Acknowledged",
    "unack": "Acknowledgement removed",
    "downtime": "Downtime scheduled",
    "recheck": "Recheck requested",
    "comment": "Comment added",
    "remove_downtime": "Downtime removed",
}


class _Invalid(Exception):
    pass


async def _one(
    actions: Actions,
    site: Any,
    action: str,
    host: str,
    service: str,
    author: str,
    comment: str,
    data: dict[str, list[str]],
) -> None:
    target = Target(host=host, service=service or None)
    if action == "ack":
        if not comment:
            raise _Invalid("an acknowledgement needs a comment (what is being done about it?)")
        expire = DURATIONS.get(first(data, "expire"))
        await actions.acknowledge(
            target,
            author=author,
            comment=comment,
            sticky=first(data, "sticky", "on") == "on",
            notify=first(data, "notify", "on") == "on",
            expire_at=site.clock() + expire if expire else None,
        )
    elif action == "unack":
        await actions.remove_acknowledgement(target, author=author, comment=comment)
    elif action == "downtime":
        if not comment:
            raise _Invalid("a downtime needs a comment (why?)")
        seconds = _duration(first(data, "duration"), first(data, "minutes"))
        now = site.clock()
        await actions.schedule_downtime(
            target,
            start=now,
            end=now + seconds,
            author=author,
            comment=comment,
            include_services=not service and first(data, "include_services") == "on",
        )
    elif action == "recheck":
        await actions.recheck(target, author=author, comment=comment)
    elif action == "comment":
        await actions.comment(target, author=author, comment=comment)
    else:
        raise _Invalid(f"unknown action {action!r}")


def _duration(preset: str, minutes: str) -> float:
    if preset in DURATIONS:
        return float(DURATIONS[preset])
    try:
        value = float(minutes)
    except ValueError:
        raise _Invalid(
            f"duration: choose 1h, 8h, 1d, 7d or give minutes, not {minutes!r}"
        ) from None
    if not 1 <= value <= 366 * 24 * 60:
        raise _Invalid("duration: minutes must be between 1 and 527040 (a year)")
    return value * 60


# ---------------------------------------------------------------------- setup (admins)
@router.post("/setup/host")
async def add_host(request: Request) -> Response:
    sess, data = await form_of(request, Role.ADMIN)
    site = site_of(request)
    labels: dict[str, str] = {}
    for part in first(data, "labels").replace("\n", ",").split(","):
        key, sep, value = part.strip().partition("=")
        if part.strip() and (not sep or not key):
            sess.flash.append(("error", f"labels: {part.strip()!r} is not key=value"))
            return back(data, "/setup")
        if key:
            labels[key.strip()] = value.strip()
    parents = [p.strip() for p in first(data, "parents").split(",") if p.strip()]
    check: dict[str, Any] | None = None
    if first(data, "check") == "tcp":
        port = first(data, "port")
        check = {"type": "tcp", "port": int(port) if port.isdigit() else port}
    if check is not None:
        try:
            validate_check_config(check)
        except pydantic.ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in ("check", *err["loc"]))
            sess.flash.append(("error", f"{where}: {err['msg']}"))
            return back(data, "/setup")
    with_agent = first(data, "agent") == "on"
    if with_agent:
        labels.setdefault("lookout/agent", "push")
    try:
        body = HostIn.model_validate(
            {
                "name": first(data, "name"),
                "address": first(data, "address"),
                "labels": labels,
                "parents": parents,
                "check": check,
            }
        )
    except pydantic.ValidationError as exc:
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err["loc"])
            sess.flash.append(("error", f"{where}: {err['msg']}"))
        return back(data, "/setup")
    engine = site.engine
    problems = []
    if body.name in engine.hosts:
        problems.append(f"name: host {body.name!r} exists already")
    problems += [f"parents: {p!r} is not a known host" for p in parents if p not in engine.hosts]
    if problems:
        sess.flash.extend(("error", p) for p in problems)
        return back(data, "/setup")
    cfg = HostConfig(
        name=body.name,
        address=body.address,
        labels=body.labels,
        parents=tuple(body.parents),
        check=body.check,
    )
    try:
        await site.save_host(cfg, create=True)
    except LookoutError as exc:
        sess.flash.append(("error", str(exc)))
        return back(data, "/setup")
    sess.flash.append(("ok", f"host {cfg.name} added"))
    target = f"/setup?created={cfg.name}#agent" if with_agent else f"/host?name={cfg.name}"
    return RedirectResponse(target, status_code=303)


@router.post("/setup/user")
async def add_user(request: Request) -> Response:
    sess, data = await form_of(request, Role.ADMIN)
    site = site_of(request)
    name, role, password = first(data, "name"), first(data, "role"), first(data, "password")
    errors = []
    if not name or len(name) > 255 or any(c.isspace() for c in name):
        errors.append("name: 1-255 characters, no spaces")
    if role not in {r.value for r in Role}:
        errors.append(f"role: expected viewer, operator or admin, not {role!r}")
    if len(password) < 8:
        errors.append("password: at least 8 characters")
    if errors:
        sess.flash.extend(("error", e) for e in errors)
        return back(data, "/setup")
    try:
        await asyncio.to_thread(
            accounts.add_user,
            site.db,
            name,
            role,
            site.clock(),
            email=first(data, "email"),
            password_hash=auth.hash_password(password),
        )
    except LookoutError as exc:
        sess.flash.append(("error", str(exc)))
        return back(data, "/setup")
    sess.flash.append(("ok", f"user {name} ({role}) added"))
    return back(data, "/setup")


@router.post("/setup/password")
async def set_password(request: Request) -> Response:
    sess, data = await form_of(request, Role.ADMIN)
    site = site_of(request)
    name, password = first(data, "name"), first(data, "password")
    if len(password) < 8:
        sess.flash.append(("error", "password: at least 8 characters"))
        return back(data, "/setup")
    try:
        await asyncio.to_thread(passwords.set_password, site.db, name, password)
    except LookoutError as exc:
        sess.flash.append(("error", str(exc)))
        return back(data, "/setup")
    if name != sess.user:
        sessions_of(request).end_user(name)
    sess.flash.append(("ok", f"password of {name} changed"))
    return back(data, "/setup")


@router.post("/setup/user/delete")
async def delete_user(request: Request) -> Response:
    sess, data = await form_of(request, Role.ADMIN)
    site = site_of(request)
    name = first(data, "name")
    if name == sess.user:
        sess.flash.append(("error", "you cannot delete yourself"))
        return back(data, "/setup")
    try:
        await asyncio.to_thread(accounts.delete_user, site.db, name)
    except LookoutError as exc:
        sess.flash.append(("error", str(exc)))
        return back(data, "/setup")
    site.tokens.revoke_user(name)
    sessions_of(request).end_user(name)
    sess.flash.append(("ok", f"user {name} deleted"))
    return back(data, "/setup")


@router.post("/setup/token")
async def create_token(request: Request) -> Response:
    sess, data = await form_of(request, Role.ADMIN)
    site = site_of(request)
    name, user, role = first(data, "name"), first(data, "user") or sess.user, first(data, "role")
    if not name or role not in {r.value for r in Role}:
        sess.flash.append(("error", "token: give a name and a role"))
        return back(data, "/setup")
    try:
        await asyncio.to_thread(accounts.get_user, site.db, user)
    except LookoutError as exc:
        sess.flash.append(("error", f"token: {exc}"))
        return back(data, "/setup")
    token = auth.new_token()
    token_id = await asyncio.to_thread(
        accounts.add_token,
        site.db,
        name=name,
        user=user,
        role=role,
        token_hash=auth.hash_token(token),
        at=site.clock(),
    )
    site.tokens.put(
        auth.hash_token(token), auth.Principal(user=user, role=Role(role), token_id=token_id)
    )
    request.app.state.ui_new_tokens[sess.id_hash] = token
    sess.flash.append(("ok", f"token {token_id} created for {user}: copy it now, it is shown once"))
    return back(data, "/setup")


@router.post("/setup/token/revoke")
async def revoke_token(request: Request) -> Response:
    sess, data = await form_of(request, Role.ADMIN)
    site = site_of(request)
    raw = first(data, "id")
    if not raw.isdigit():
        sess.flash.append(("error", "token: no id given"))
        return back(data, "/setup")
    try:
        await asyncio.to_thread(accounts.revoke_token, site.db, int(raw), site.clock())
    except LookoutError as exc:
        sess.flash.append(("error", str(exc)))
        return back(data, "/setup")
    site.tokens.revoke(int(raw))
    sess.flash.append(("ok", f"token {raw} revoked"))
    return back(data, "/setup")


@router.get("/logout")
async def logout_get(request: Request) -> Response:
    """A GET never logs out (a link on another site could): show the button instead."""
    return render(request, current(request), "logout.html", title="Log out")
