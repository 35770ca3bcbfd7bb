"""The admin's setup forms: add a host, users and their passwords, API tokens. They call the
same functions as the admin REST API (``site.save_host``, ``storage.accounts``)."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar
from urllib.parse import quote

import pydantic
from fastapi import APIRouter, Request
from starlette.responses import Response

from lookout import auth
from lookout.auth import Role
from lookout.checks.active.registry import validate_check_config
from lookout.domain.objects import HostConfig
from lookout.engine.core import Engine
from lookout.errors import LookoutError, PermissionDenied
from lookout.storage import accounts
from lookout.web.ui import integrations, passwords
from lookout.web.ui.shown_once import NEW_TOKEN, REGISTRATION, ShownOnce
from lookout.web.ui.timing import TimedRoute
from lookout.web.ui.web import Forbidden, back, first, form_of, redirect, sessions_of, site_of
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


class _Refused(Exception):
    """The add-host form is refused; ``problems`` are its flash messages, field first."""

    def __init__(self, *problems: str) -> None:
        super().__init__(*problems)
        self.problems = problems


def _labels(text: str) -> dict[str, str]:
    """``env=prod, role=web`` (commas or lines) → labels."""
    labels: dict[str, str] = {}
    for part in (p.strip() for p in text.replace("\n", ",").split(",")):
        key, sep, value = part.partition("=")
        if part and (not sep or not key.strip()):
            raise _Refused(f"labels: {part!r} is not key=value")
        if part:
            labels[key.strip()] = value.strip()
    return labels


def _check(data: dict[str, list[str]]) -> dict[str, Any] | None:
    """The host check the form asks for (None: passive), checked by the check registry."""
    if first(data, "check") != "tcp":
        return None
    port = first(data, "port")
    check = {"type": "tcp", "port": int(port) if port.isascii() and port.isdigit() else port}
    try:
        validate_check_config(check)
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        raise _Refused(f"{'.'.join(str(p) for p in ('check', *err['loc']))}: {err['msg']}") from exc
    return check


def _host_config(data: dict[str, list[str]], engine: Engine) -> HostConfig:
    """The new host as the form describes it, validated by the API's ``HostIn`` and against
    the hosts there are (a new name, known parents)."""
    labels = _labels(first(data, "labels"))
    if first(data, "agent") == "on":
        labels.setdefault("lookout/agent", "push")
    parents = [p.strip() for p in first(data, "parents").split(",") if p.strip()]
    fields = {
        "name": first(data, "name"),
        "address": first(data, "address"),
        "labels": labels,
        "parents": parents,
        "check": _check(data),
    }
    problems: list[tuple[str, str]] = []
    body = _valid(HostIn, fields, problems)
    if body is None:
        raise _Refused(*(p for _, p in problems))
    taken = [f"name: host {body.name!r} exists already"] if body.name in engine.hosts else []
    unknown = [f"parents: {p!r} is not a known host" for p in parents if p not in engine.hosts]
    if taken or unknown:
        raise _Refused(*taken, *unknown)
    return HostConfig(
        name=body.name,
        address=body.address,
        labels=body.labels,
        parents=tuple(body.parents),
        check=body.check,
    )


@router.post("/setup/host")
async def add_host(request: Request) -> Response:
    """Add a host (passive, TCP check, or with the push agent); an agent host's one-time
    registration command is shown once on the setup page."""
    sess, data = await form_of(request, Role.ADMIN)
    site = site_of(request)
    try:
        cfg = _host_config(data, site.engine)
        await site.save_host(cfg, create=True)
    except PermissionDenied as exc:  # SaaS mode's allow-list: the 403 page says why
        raise Forbidden(str(exc)) from exc
    except _Refused as exc:
        sess.flash.extend(("error", p) for p in exc.problems)
        return back(request, data, "/setup")
    except LookoutError as exc:
        sess.flash.append(("error", str(exc)))
        return back(request, data, "/setup")
    sess.flash.append(("ok", f"host {cfg.name} added"))
    if first(data, "agent") != "on":
        return redirect(request, f"/host?name={quote(cfg.name, safe='')}")
    reg = await integrations.agent_registration(site, cfg.name, sess.user)
    if reg is not None:  # shown once, like a new API token
        shown_once: ShownOnce = request.app.state.ui_shown_once
        await asyncio.to_thread(shown_once.put, sess.id_hash, REGISTRATION, reg)
    return redirect(request, f"/setup?created={quote(cfg.name, safe='')}#agent")


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
        return back(request, data, "/setup")
    name, role, password = body.name, body.role, body.password or ""
    if len(password) < 8:
        sess.flash.append(("error", "password: at least 8 characters"))
        return back(request, data, "/setup")
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
        return back(request, data, "/setup")
    after = {"name": name, "role": role, "email": body.email, "password": password}
    await site.audit.record("user", name, "create", after=after)
    sess.flash.append(("ok", f"user {name} ({role}) added"))
    return back(request, data, "/setup")


@router.post("/setup/password")
async def set_password(request: Request) -> Response:
    sess, data = await form_of(request, Role.ADMIN)
    site = site_of(request)
    name, password = first(data, "name"), first(data, "password")
    if len(password) < 8:
        sess.flash.append(("error", "password: at least 8 characters"))
        return back(request, data, "/setup")
    try:
        await asyncio.to_thread(passwords.set_password, site.db, name, password)
    except LookoutError as exc:
        sess.flash.append(("error", str(exc)))
        return back(request, data, "/setup")
    if name != sess.user:
        sessions_of(request).end_user(name)
    await site.audit.record("user", name, "password", after={"password": password})
    sess.flash.append(("ok", f"password of {name} changed"))
    return back(request, data, "/setup")


@router.post("/setup/user/delete")
async def delete_user(request: Request) -> Response:
    sess, data = await form_of(request, Role.ADMIN)
    site = site_of(request)
    name = first(data, "name")
    if name == sess.user:
        sess.flash.append(("error", "you cannot delete yourself"))
        return back(request, data, "/setup")
    try:
        await asyncio.to_thread(accounts.delete_user, site.db, name)
    except LookoutError as exc:
        sess.flash.append(("error", str(exc)))
        return back(request, data, "/setup")
    site.tokens.revoke_user(name)
    sessions_of(request).end_user(name)
    await site.audit.record("user", name, "delete")
    sess.flash.append(("ok", f"user {name} deleted"))
    return back(request, data, "/setup")


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
        return back(request, data, "/setup")
    name, user, role = body.name, body.user or sess.user, body.role
    try:
        await asyncio.to_thread(accounts.get_user, site.db, user)
    except LookoutError as exc:
        sess.flash.append(("error", f"token: {exc}"))
        return back(request, data, "/setup")
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
    after = {"id": token_id, "name": name, "user": user, "role": role, "token": token}
    await site.audit.record("token", str(token_id), "create", after=after)
    shown_once: ShownOnce = request.app.state.ui_shown_once
    await asyncio.to_thread(shown_once.put, sess.id_hash, NEW_TOKEN, token)
    sess.flash.append(("ok", f"token {token_id} created for {user}: copy it now, it is shown once"))
    return back(request, data, "/setup")


@router.post("/setup/token/revoke")
async def revoke_token(request: Request) -> Response:
    sess, data = await form_of(request, Role.ADMIN)
    site = site_of(request)
    raw = first(data, "id")
    if not (raw.isascii() and raw.isdigit()):
        sess.flash.append(("error", "token: no id given"))
        return back(request, data, "/setup")
    try:
        await asyncio.to_thread(accounts.revoke_token, site.db, int(raw), site.clock())
    except LookoutError as exc:
        sess.flash.append(("error", str(exc)))
        return back(request, data, "/setup")
    site.tokens.revoke(int(raw))
    await site.audit.record("token", raw, "revoke")
    sess.flash.append(("ok", f"token {raw} revoked"))
    return back(request, data, "/setup")


@router.post("/setup/command")
async def add_command(request: Request) -> Response:
    """Define a command (validated by the API's ``CommandIn``; saved by ``site.save_command``)."""
    sess, data = await form_of(request, Role.ADMIN)
    site = site_of(request)
    fields = {"name": first(data, "name"), "command_line": first(data, "command_line")}
    body = _valid(CommandIn, fields, sess.flash)
    if body is None:
        return back(request, data, "/setup")
    try:
        await site.save_command(body.name, body.command_line, create=True)
    except PermissionDenied as exc:  # SaaS mode: the 403 page says why
        raise Forbidden(str(exc)) from exc
    except LookoutError as exc:
        sess.flash.append(("error", f"command: {exc}"))
        return back(request, data, "/setup")
    sess.flash.append(("ok", f"command {body.name} added"))
    return back(request, data, "/setup")


@router.post("/setup/command/delete")
async def delete_command(request: Request) -> Response:
    sess, data = await form_of(request, Role.ADMIN)
    site = site_of(request)
    name = first(data, "name")
    try:
        await site.delete_command(name)
    except LookoutError as exc:
        sess.flash.append(("error", str(exc)))
        return back(request, data, "/setup")
    sess.flash.append(("ok", f"command {name} removed"))
    return back(request, data, "/setup")
