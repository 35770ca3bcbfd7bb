"""``/config``: the whole configuration of the site as one tree (export), and applying a tree
in one go (validate all, then write; ``dry_run`` only shows the diff)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from lookout.auth import Principal, Role
from lookout.domain import audit
from lookout.sites.configapply import TreeInvalid, apply_tree, export_tree
from lookout.web.api.deps import require

router = APIRouter(prefix="/config", tags=["configuration"])
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
_encode = msgspec.json.Encoder().encode


def _json(data: Any, status: int = 200) -> Response:
    return Response(_encode(data), status_code=status, media_type="application/json")


@router.get("")
async def export(request: Request, _: Admin) -> Response:
    """The site's hosts (with services), host groups, command definitions, notification
    channels (secrets masked), rules and contacts, and recurring downtimes, as one tree."""
    return _json(await export_tree(request.app.state.site))


@router.post(
    "/apply",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
            "description": "A tree as GET /config returns it; a missing part is not managed.",
        }
    },
)
async def apply(
    request: Request,
    _: Admin,
    dry_run: Annotated[bool, Query(description="Only say what would change")] = False,
) -> Response:
    """Make the site match a tree: create, change and remove (only objects labelled
    ``lookout/managed=config``; see the README). Every problem is reported at once (422) and
    nothing is written then; hosts and services are written in one transaction."""
    try:
        raw = msgspec.json.decode(await request.body())
    except msgspec.DecodeError as exc:
        raise RequestValidationError(
            [{"loc": ("body",), "msg": f"not JSON: {exc}", "type": "json_invalid"}]
        ) from exc
    door = audit.current()
    if door is not None and door.channel != "import":
        door.channel = "config-apply"
    try:
        report = await apply_tree(request.app.state.site, raw, dry_run=dry_run)
    except TreeInvalid as exc:
        raise RequestValidationError(exc.errors) from exc
    return _json(report)
