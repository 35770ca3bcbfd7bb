"""``/notifications/*``: rules, channels, contacts, delivery history, dry runs; and the
endpoint Zulip's outgoing-webhook bots POST to."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, TypeVar

import pydantic
from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from lookout.auth import Principal, Role
from lookout.domain.states import parse_state, state_name
from lookout.errors import NotFound
from lookout.notify import editing
from lookout.notify.matching import Candidate, evaluate
from lookout.notify.notifier import Notifier
from lookout.notify.spec import Contact, Kind, Rule, masked
from lookout.web.api.deps import require
from lookout.web.api.views import JSON

router = APIRouter(prefix="/notifications", tags=["notifications"])
Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
AnyBody = Annotated[dict[str, Any], Body()]
MAX_POSITION = 10**9
"""Largest ``position`` of a rule: the column is a 32-bit integer on PostgreSQL, and rules
added without one go 10 after the last."""


def _notifier(request: Request) -> Notifier:
    notifier: Notifier = request.app.state.site.notifier
    return notifier


M = TypeVar("M", bound=pydantic.BaseModel)


def _invalid(exc: pydantic.ValidationError) -> RequestValidationError:
    """A model's errors as the API's 422, with paths into the body."""
    return RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])


def _validated(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise _invalid(exc) from exc


# ---------------------------------------------------------------------- rules
@router.get("/rules")
async def list_rules(request: Request, _: Viewer) -> Response:
    rules = await asyncio.to_thread(_notifier(request).store.rules)
    return JSON({"total": len(rules), "items": [r.model_dump(mode="json") for r in rules]})


@router.post("/rules")
async def put_rule(body: AnyBody, request: Request, _: Admin) -> Response:
    """Create or replace a rule (by ``name``); ``position`` orders the rules."""
    position = body.pop("position", None)
    if position is not None and (
        not isinstance(position, int) or isinstance(position, bool) or abs(position) > MAX_POSITION
    ):
        msg = f"must be an integer from {-MAX_POSITION} to {MAX_POSITION}"
        raise RequestValidationError(
            [{"loc": ("body", "position"), "msg": msg, "type": "int_type"}]
        )
    rule = _validated(Rule, body)
    await editing.save_rule(
        _notifier(request), rule, request.app.state.site.clock(), position=position
    )
    return JSON(rule.model_dump(mode="json"))


@router.delete("/rules/{name}", status_code=204)
async def delete_rule(name: str, request: Request, _: Admin) -> Response:
    await editing.remove_rule(_notifier(request), name)
    return Response(status_code=204)


# ---------------------------------------------------------------------- channels
@router.get("/channels")
async def list_channels(request: Request, _: Admin) -> Response:
    channels = await asyncio.to_thread(_notifier(request).store.channels)
    items = [{"name": c.name, "spec": masked(c.spec.model_dump(mode="json"))} for c in channels]
    return JSON({"total": len(items), "items": items})


@router.post("/channels")
async def put_channel(body: AnyBody, request: Request, _: Admin) -> Response:
    """Create or replace a channel; secrets sent back masked keep their stored value."""
    n = _notifier(request)
    try:
        channel = await editing.channel_of(n, body)
    except pydantic.ValidationError as exc:
        raise _invalid(exc) from exc
    await editing.save_channel(n, channel, request.app.state.site.clock())
    return JSON({"name": channel.name, "spec": masked(channel.spec.model_dump(mode="json"))})


@router.delete("/channels/{name}", status_code=204)
async def delete_channel(name: str, request: Request, _: Admin) -> Response:
    """Remove a channel; 409 while a rule names it."""
    await editing.remove_channel(_notifier(request), name)
    return Response(status_code=204)


# ---------------------------------------------------------------------- contacts
@router.get("/contacts")
async def list_contacts(request: Request, _: Viewer) -> Response:
    contacts = await asyncio.to_thread(_notifier(request).store.contacts)
    return JSON({"total": len(contacts), "items": [c.model_dump() for c in contacts]})


@router.post("/contacts")
async def put_contact(body: AnyBody, request: Request, _: Admin) -> Response:
    contact = _validated(Contact, body)
    n = _notifier(request)
    await asyncio.to_thread(n.store.put_contact, contact, request.app.state.site.clock())
    await n.reload()
    await request.app.state.site.audit.record(
        "contact", contact.user, "change", after=contact.model_dump(mode="json")
    )
    return JSON(contact.model_dump())


# ---------------------------------------------------------------------- history and dry run
@router.get("/deliveries")
async def deliveries(
    request: Request,
    _: Viewer,
    status: str | None = None,
    channel: str | None = None,
    host: str | None = None,
    service: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> Response:
    rows = await asyncio.to_thread(
        _notifier(request).store.deliveries,
        status=status,
        channel=channel,
        host=host,
        service=service,
        limit=limit,
    )
    return JSON({"total": len(rows), "items": [r.as_dict() for r in rows]})


class TestIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    rule: str | None = None
    """Only this rule (default: all rules, in order)."""
    kind: Kind = Kind.PROBLEM
    host: str = pydantic.Field(min_length=1)
    service: str = ""
    state: str | None = None
    """State name (default CRIT for a service, DOWN for a host)."""
    state_type: str = "hard"
    number: int = pydantic.Field(1, ge=1)


@router.post("/test")
async def dry_run(body: TestIn, request: Request, _: Operator) -> Response:
    """Who would get what for an event like this (nothing is sent)."""
    n = _notifier(request)
    try:
        given = body.state or ("CRIT" if body.service else "DOWN")
        state = state_name(parse_state(given, is_host=not body.service), is_host=not body.service)
    except ValueError as exc:
        raise RequestValidationError(
            [{"loc": ("body", "state"), "msg": str(exc), "type": "value_error"}]
        ) from exc
    rules = n.rules
    if body.rule is not None:
        rules = [r for r in rules if r.name == body.rule]
        if not rules:
            raise NotFound(f"rule {body.rule!r} not found")
    c: Candidate = n.candidate(
        body.kind,
        body.host,
        body.service,
        state,
        body.state_type,
        request.app.state.site.clock(),
        body.number,
    )
    decision = evaluate(rules, c, n.directory)
    return JSON(
        {
            "deliveries": [
                {"rule": p.rule, "channel": p.channel, "recipient": p.recipient, "delay": p.delay}
                for p in decision.planned
            ],
            "trace": [{"rule": r, "result": why} for r, why in decision.trace],
        }
    )


# ---------------------------------------------------------------------- Zulip outgoing webhook
@router.post("/zulip/{channel}", include_in_schema=True)
async def zulip_webhook(channel: str, body: AnyBody, request: Request) -> Response:
    """Zulip outgoing-webhook bots POST mentions and direct messages here; the body's
    ``token`` is the bot's token (compared in constant time). Answers ``{"content": …}``."""
    bot = request.app.state.site.chatops.bots.get(channel)
    if bot is None or not bot.token_ok(str(body.get("token", ""))):
        raise HTTPException(401, "unknown channel or wrong token")
    return JSON(await bot.on_webhook(body))
