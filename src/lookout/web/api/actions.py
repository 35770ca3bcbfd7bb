"""``/actions/*``: acknowledge, remove-acknowledgement, schedule-downtime, remove-downtime,
comment, recheck — thin wrappers around :mod:`lookout.actions`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from lookout.actions import Actions
from lookout.auth import Principal, Role
from lookout.engine.inputs import Target
from lookout.web.api.deps import author_of, require
from lookout.web.api.views import JSON
from lookout.wire.api import (
    AcknowledgeIn,
    CommentIn,
    DowntimeIn,
    RemoveCommentIn,
    RemoveDowntimeIn,
    TargetIn,
)

router = APIRouter(prefix="/actions")
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]


def _actions(request: Request) -> Actions:
    actions: Actions = request.app.state.actions
    return actions


def _target(body: TargetIn) -> Target:
    return Target(
        host=body.host,
        service=body.service,
        labels=body.labels,
        group=body.group,
        services=body.services,
    )


@router.post("/acknowledge")
async def acknowledge(body: AcknowledgeIn, request: Request, who: Operator) -> Response:
    out = await _actions(request).acknowledge(
        _target(body),
        author=author_of(who, body.author),
        comment=body.comment,
        sticky=body.sticky,
        notify=body.notify,
        persistent=body.persistent,
        expire_at=body.expire_at,
    )
    return JSON(out.as_dict())


@router.post("/remove-acknowledgement")
async def remove_acknowledgement(body: TargetIn, request: Request, who: Operator) -> Response:
    out = await _actions(request).remove_acknowledgement(
        _target(body), author=author_of(who, body.author), comment=body.comment
    )
    return JSON(out.as_dict())


@router.post("/schedule-downtime")
async def schedule_downtime(body: DowntimeIn, request: Request, who: Operator) -> Response:
    out = await _actions(request).schedule_downtime(
        _target(body),
        start=body.start,
        end=body.end,
        author=author_of(who, body.author),
        comment=body.comment,
        fixed=body.fixed,
        duration=body.duration,
        include_services=body.include_services,
        recurrence=body.recurrence,
    )
    return JSON(out.as_dict())


@router.post("/remove-downtime")
async def remove_downtime(body: RemoveDowntimeIn, request: Request, who: Operator) -> Response:
    out = await _actions(request).remove_downtime(
        author=author_of(who, body.author),
        comment=body.comment,
        ids=body.ids,
        host=body.host,
        service=body.service,
    )
    return JSON(out.as_dict())


@router.post("/comment")
async def comment(body: CommentIn, request: Request, who: Operator) -> Response:
    out = await _actions(request).comment(
        _target(body), author=author_of(who, body.author), comment=body.comment
    )
    return JSON(out.as_dict())


@router.post("/remove-comment")
async def remove_comment(body: RemoveCommentIn, request: Request, who: Operator) -> Response:
    out = await _actions(request).remove_comment(body.ids, author=author_of(who, body.author))
    return JSON(out.as_dict())


@router.post("/recheck")
async def recheck(body: TargetIn, request: Request, who: Operator) -> Response:
    out = await _actions(request).recheck(
        _target(body), author=author_of(who, body.author), comment=body.comment
    )
    return JSON(out.as_dict())
