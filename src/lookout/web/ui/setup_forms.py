"""The admin's setup forms: add a host, users and their passwords, API tokens. They call the
same functions as the admin REST API (``site.save_host``, ``storage.accounts``)."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

import pydantic
from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from lookout import auth
from lookout.auth import Role
from lookout.checks.active.registry import validate_check_config
from lookout.domain.objects import HostConfig
from lookout.errors import LookoutError
from lookout.storage import accounts
from lookout.web.ui import integrations, passwords
from lookout.web.ui.timing import TimedRoute
from lookout.web.ui.web import back, first, form_of, sessions_of, site_of
from lookout.wire.api import CommandIn, HostIn, TokenIn, UserIn

router = APIRouter(include_in_schema=False, route_class=TimedRoute)


M = TypeVar("M", bound=pydantic.BaseModel)


def _valid(model: type[M], fields: dict[str, Any], flash: list[tuple[str, str]]) -> M | None:
    """``fields`` checked by the API's own body model (one validation per field); its errors
    become flash messages naming the field."""
    try:
        return model.model_validate(fields)
    except pydantic.ValidationError as exc:
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err["loc"]) or "form"
            flash.append(("error", f"{where}: {err['msg']}"))
        return None


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
        check = {"type": "tcp", "port": int(port) if port.isascii() and port.isdigit() else port}
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
    if with_agent:
        reg = await integrations.agent_registration(site, cfg.name, sess.user)
        if reg is not None:  # shown once, like a new API token
            request.app.state.ui_registrations[sess.id_hash] = reg
    target = f"/setup?created={cfg.name}#agent" if with_agent else f"/host?name={cfg.name}"
    return RedirectResponse(target, status_code=303)


@router.post("/setup/user")
async def add_user(request: Request) -> Response:
    sess, data = await form_of(request, Role.ADMIN)
    site = site_of(request)
    body = _valid(
        UserIn,
        {k: first(data, k) for k in ("name", "role", "email", "password")},
        sess.flash,
    )
    if body is None:
        return back(data, "/setup")
    name, role, password = body.name, body.role, body.password or ""
    if len(password) < 8:
        sess.flash.append(("error", "password: at least 8 characters"))
        return back(data, "/setup")
    try:
        await asyncio.to_thread(
            accounts.add_user,
            site.db,
            name,
            role,
            site.clock(),
            email=body.email,
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
    body = _valid(
        TokenIn,
        {
            "name": first(data, "name"),
            "user": first(data, "user") or sess.user,
            "role": first(data, "role"),
        },
        sess.flash,
    )
    if body is None:
        return back(data, "/setup")
    name, user, role = body.name, body.user or sess.user, body.role
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
    if not (raw.isascii() and raw.isdigit()):
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


@router.post("/setup/command")
async def add_command(request: Request) -> Response:
    """Define a command (validated by the API's ``CommandIn``; saved by ``site.save_command``)."""
    sess, data = await form_of(request, Role.ADMIN)
    site = site_of(request)
    fields = {"name": first(data, "name"), "command_line": first(data, "command_line")}
    body = _valid(CommandIn, fields, sess.flash)
    if body is None:
        return back(data, "/setup")
    try:
        await site.save_command(body.name, body.command_line, create=True)
    except LookoutError as exc:
        sess.flash.append(("error", f"command: {exc}"))
        return back(data, "/setup")
    sess.flash.append(("ok", f"command {body.name} added"))
    return back(data, "/setup")


@router.post("/setup/command/delete")
async def delete_command(request: Request) -> Response:
    sess, data = await form_of(request, Role.ADMIN)
    site = site_of(request)
    name = first(data, "name")
    try:
        await site.delete_command(name)
    except LookoutError as exc:
        sess.flash.append(("error", str(exc)))
        return back(data, "/setup")
    sess.flash.append(("ok", f"command {name} removed"))
    return back(data, "/setup")
