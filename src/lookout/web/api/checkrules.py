"""``/check-rules``: parameters for a check type on the checks a rule matches, in order.

Admins write, viewers read. The params are validated with the check type's own model (errors
at ``params.FIELD``); a rule whose params would not fit a check it matches is refused (422
naming the checks). Checks pick a changed rule up at their next run.
"""

from __future__ import annotations

from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, Body, Depends, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from lookout.auth import Principal, Role
from lookout.checks.active.rules import CheckRule
from lookout.errors import ValidationError
from lookout.web.api.deps import require
from lookout.web.api.views import JSON

router = APIRouter(prefix="/check-rules", tags=["check rules"])
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
AnyBody = Annotated[dict[str, Any], Body()]
SHOWN_CHECKS = 100
"""How many matched checks ``GET /check-rules/{name}`` lists (it counts them all)."""


def _view(site: Any, rule: CheckRule) -> dict[str, Any]:
    created, updated = site.check_rules.times.get(rule.name, (0.0, 0.0))
    return {
        **rule.model_dump(mode="json"),
        "position": site.check_rules.position(rule.name),
        "created_at": created,
        "updated_at": updated,
    }


def _parsed(body: dict[str, Any]) -> tuple[CheckRule, int | None]:
    position = body.pop("position", None)
    if position is not None and (not isinstance(position, int) or isinstance(position, bool)):
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "position"),
                    "msg": "must be an integer (0: first)",
                    "type": "int_type",
                }
            ]
        )
    try:
        return CheckRule.model_validate(body), position
    except pydantic.ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from exc


@router.post("", status_code=201)
async def add_check_rule(body: AnyBody, request: Request, _: Admin) -> Response:
    """Add a rule (at ``position``, 0 first; default last); 409 when the name is taken."""
    site = request.app.state.site
    rule, position = _parsed(body)
    await site.check_rules.save(
        rule, site.check_objects(), site.clock(), create=True, position=position
    )
    return JSON(_view(site, rule), status_code=201)


@router.put("/{name}")
async def put_check_rule(name: str, body: AnyBody, request: Request, _: Admin) -> Response:
    """Add or replace rule ``name`` (it keeps its place unless ``position`` is given)."""
    site = request.app.state.site
    body.setdefault("name", name)
    rule, position = _parsed(body)
    if rule.name != name:
        raise ValidationError(f"name {rule.name!r} differs from the path's {name!r}", ("name",))
    created = await site.check_rules.save(
        rule, site.check_objects(), site.clock(), create=False, position=position
    )
    return JSON(_view(site, rule), status_code=201 if created else 200)


@router.get("")
async def list_check_rules(request: Request, _: Viewer) -> Response:
    """Every rule in order (the first that matches a check supplies its parameters)."""
    site = request.app.state.site
    items = [_view(site, r) for r in site.check_rules.rules]
    return JSON({"total": len(items), "items": items})


@router.get("/{name}")
async def show_check_rule(name: str, request: Request, _: Viewer) -> Response:
    """One rule and the checks it supplies parameters to (``applies_to``, the first 100)."""
    site = request.app.state.site
    rule = site.check_rules.get(name)
    applies = [
        f"{h.name}/{s.name}" if s is not None else h.name
        for h, s in site.check_objects()
        if site.check_rules.rule_for(h, s) == name
    ]
    view = _view(site, rule) | {"applies_to": applies[:SHOWN_CHECKS], "applies_total": len(applies)}
    return JSON(view)


@router.delete("/{name}", status_code=204)
async def remove_check_rule(name: str, request: Request, _: Admin) -> Response:
    """Remove a rule; its checks fall back to the next matching rule, else the defaults."""
    site = request.app.state.site
    await site.check_rules.remove(name, site.clock())
    return Response(status_code=204)
