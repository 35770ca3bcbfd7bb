"""The Setup card's check-rule forms: add (or replace) a rule, remove one. They call what the
REST API calls (``site.check_rules``), and validation errors become flash messages naming
the field (``params.warn_days: …``)."""

from __future__ import annotations

import pydantic
from fastapi import APIRouter, Request
from starlette.responses import Response

from lookout.auth import Role
from lookout.checks.active.rules import CheckRule, parse_params
from lookout.errors import LookoutError
from lookout.web.ui.timing import TimedRoute
from lookout.web.ui.web import back, first, form_of, site_of

router = APIRouter(include_in_schema=False, route_class=TimedRoute)
NEXT = "/setup#check-rules"


def _list(text: str) -> list[str]:
    return [p.strip() for p in text.replace("\n", ",").split(",") if p.strip()]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _rule(data: dict[str, list[str]]) -> dict[str, object]:
    """The form as a rule body (ValueError: a labels or params line that is not k=v)."""
    return {
        "name": first(data, "name"),
        "description": first(data, "description"),
        "check_type": first(data, "check_type"),
        "objects": first(data, "objects", "any"),
        "hosts": _list(first(data, "hosts")),
        "services": _list(first(data, "services")),
        "host_labels": {
            k: str(v) for k, v in parse_params(_list(first(data, "host_labels"))).items()
        },
        "service_labels": {
            k: str(v) for k, v in parse_params(_list(first(data, "service_labels"))).items()
        },
        "params": parse_params(_lines(first(data, "params"))),
    }


@router.post("/setup/check-rule")
async def save_check_rule(request: Request) -> Response:
    """Add a rule, or replace the one of that name (it keeps its place)."""
    sess, data = await form_of(request, Role.ADMIN)
    site = site_of(request)
    try:
        rule = CheckRule.model_validate(_rule(data))
    except ValueError as exc:  # pydantic's ValidationError is one too
        errors = exc.errors() if isinstance(exc, pydantic.ValidationError) else None
        for err in (errors or [])[:5]:
            where = ".".join(str(p) for p in err["loc"]) or "form"
            sess.flash.append(("error", f"{where}: {err['msg']}"))
        if errors is None:
            sess.flash.append(("error", f"check rule: {exc}"))
        return back(request, data, NEXT)
    try:
        created = await site.check_rules.save(
            rule, site.check_objects(), site.clock(), create=False
        )
    except LookoutError as exc:
        sess.flash.append(("error", f"check rule {rule.name}: {exc}"))
        return back(request, data, NEXT)
    sess.flash.append(("ok", f"check rule {rule.name} {'added' if created else 'replaced'}"))
    return back(request, data, NEXT)


@router.post("/setup/check-rule/delete")
async def delete_check_rule(request: Request) -> Response:
    sess, data = await form_of(request, Role.ADMIN)
    site = site_of(request)
    name = first(data, "name")
    try:
        await site.check_rules.remove(name, site.clock())
    except LookoutError as exc:
        sess.flash.append(("error", str(exc)))
        return back(request, data, NEXT)
    sess.flash.append(("ok", f"check rule {name} removed"))
    return back(request, data, NEXT)
