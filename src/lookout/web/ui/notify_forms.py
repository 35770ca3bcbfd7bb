"""The admin's notification rules and channels: list, create, edit, remove (``/setup/…``).

Forms are read by ``model_forms`` into the models of ``notify.spec`` and written through
``notify.editing``, the REST API's own path, so both refuse the same things. A refused form comes
back (422) with each error next to its field and what was typed still in it. Secrets are never
shown back: an empty secret input keeps the stored secret, "clear" removes it.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from lookout.auth import Role
from lookout.errors import Conflict, LookoutError, NotFound, PermissionDenied, ValidationError
from lookout.notify import editing
from lookout.notify.notifier import Notifier
from lookout.notify.spec import (
    ALL_STATES,
    MASK,
    SECRET_FIELDS,
    AlertmanagerSpec,
    AppriseSpec,
    Channel,
    EmailSpec,
    Rule,
    TimePeriod,
    WebhookSpec,
    ZulipSpec,
)
from lookout.web.ui import model_forms as mf
from lookout.web.ui.model_forms import FormErrors, FormField
from lookout.web.ui.sessions import Session
from lookout.web.ui.timing import TimedRoute
from lookout.web.ui.web import (
    Forbidden,
    Missing,
    admin_page,
    first,
    form_of,
    redirect,
    render,
    site_of,
)

router = APIRouter(include_in_schema=False, route_class=TimedRoute)
Admin = Annotated[Session, Depends(admin_page)]
Form = dict[str, list[str]]
Errors = dict[str, list[str]]
LIST = "/setup/notifications"

SPECS: dict[str, type[pydantic.BaseModel]] = {
    "zulip": ZulipSpec,
    "email": EmailSpec,
    "webhook": WebhookSpec,
    "apprise": AppriseSpec,
    "alertmanager": AlertmanagerSpec,
}
CHANNEL_MORE = frozenset(
    {
        "rate_per_minute", "group_window", "group_burst", "group_cap", "max_attempts",
        "retry_max", "parallel", "batch", "timeout", "ca_file", "listen", "resolve_topics",
        "user_map", "headers",
    }
)  # fmt: skip
"""Channel settings behind "More settings" (their defaults suit most sites)."""
RULE_MORE = frozenset(
    {
        "state_types", "objects", "exclude_hosts", "exclude_services", "host_groups",
        "object_contact_groups", "from_number", "until_number",
    }
)  # fmt: skip
PERIOD = "time_period"
"""The checkbox that gives a rule a time period (its fields are ``time_period.*``)."""
NAME = FormField("name", "Name", "text", required=True)
TYPE = FormField("type", "Type", "text")


def _notifier(request: Request) -> Notifier:
    n: Notifier = site_of(request).notifier
    return n


# ---------------------------------------------------------------------- the list
@router.get(LIST)
async def notifications_setup(request: Request, sess: Admin) -> Response:
    store = _notifier(request).store
    rules, channels = await asyncio.gather(
        asyncio.to_thread(store.rules), asyncio.to_thread(store.channels)
    )
    return render(
        request,
        sess,
        "setup_notifications.html",
        title="Notification rules and channels",
        rules=rules,
        channels=channels,
        used={c.name: [r.name for r in rules if c.name in r.channels] for c in channels},
        types=list(SPECS),
    )


# ---------------------------------------------------------------------- rules
def _rule_fields(channels: list[str]) -> list[FormField]:
    fields = mf.fields_of(
        Rule,
        skip=(PERIOD, "name"),
        kinds={
            "delay": "duration",
            "repeat_every": "duration",
            "states": "choices",
            "channels": "choices",
        },
        choices={"states": ALL_STATES, "channels": channels},
        advanced=RULE_MORE,
    )
    period = mf.fields_of(TimePeriod, prefix=f"{PERIOD}.", advanced=list(TimePeriod.model_fields))
    return fields + period


def _rule_values(fields: list[FormField], rule: dict[str, Any]) -> dict[str, Any]:
    """A stored (or new) rule as its form shows it; without a time period, the period's
    inputs show the defaults."""
    period = rule.get(PERIOD)
    values = mf.shown(fields, {**rule, PERIOD: period or mf.defaults(TimePeriod)})
    return {**values, PERIOD: "on" if period else ""}


@router.get("/setup/rule")
async def rule_page(request: Request, sess: Admin, name: str = "") -> Response:
    n = _notifier(request)
    fields = _rule_fields(sorted(await asyncio.to_thread(n.store.channel_names)))
    if not name:
        return _rule_form(request, sess, fields, _rule_values(fields, mf.defaults(Rule)), {}, "")
    rule = next((r for r in await asyncio.to_thread(n.store.rules) if r.name == name), None)
    if rule is None:
        raise Missing(f"rule {name!r} not found")
    values = _rule_values(fields, rule.model_dump(mode="json"))
    return _rule_form(request, sess, fields, values, {}, name)


@router.post("/setup/rule")
async def save_rule(request: Request) -> Response:
    """Add a rule (after the others), or change one keeping its name and place."""
    sess, data = await form_of(request, Role.ADMIN)
    n = _notifier(request)
    original = first(data, "original")
    fields = _rule_fields(sorted(await asyncio.to_thread(n.store.channel_names)))
    try:
        body = mf.read(fields, data)
        body["name"] = original or first(data, "name")
        if first(data, PERIOD) != "on":
            body[PERIOD] = None
        rule = _model(Rule, body, [*fields, NAME])
        await _written(editing.save_rule(n, rule, site_of(request).clock(), create=not original))
    except FormErrors as exc:
        values = {
            **mf.typed(fields, data),
            "name": first(data, "name"),
            PERIOD: first(data, PERIOD),
        }
        return _rule_form(request, sess, fields, values, exc.errors, original, 422)
    sess.flash.append(("ok", f"rule {rule.name} {'saved' if original else 'added'}"))
    return redirect(request, LIST)


def _rule_form(
    request: Request,
    sess: Session,
    fields: list[FormField],
    values: dict[str, Any],
    errors: Errors,
    original: str,
    status: int = 200,
) -> Response:
    return render(
        request,
        sess,
        "setup_notify_form.html",
        status_code=status,
        title=f"Rule {original}" if original else "New rule",
        what="rule",
        kind="",
        original=original,
        fields=fields,
        values=values,
        errors=errors,
        secrets_set=set(),
        retype=set(),
        period=PERIOD,
    )


@router.post("/setup/rule/move")
async def move_rule(request: Request) -> Response:
    """One place earlier (``by=-1``) or later (``by=1``) in the order rules are evaluated."""
    sess, data = await form_of(request, Role.ADMIN)
    name, by = first(data, "name"), first(data, "by")
    if by not in ("-1", "1"):
        sess.flash.append(("error", f"by: expected -1 or 1, not {by!r}"))
        return redirect(request, LIST)
    try:
        await editing.move_rule(_notifier(request), name, int(by), site_of(request).clock())
    except LookoutError as exc:
        sess.flash.append(("error", str(exc)))
    return redirect(request, f"{LIST}#rules")


@router.post("/setup/rule/delete")
async def delete_rule(request: Request) -> Response:
    sess, data = await form_of(request, Role.ADMIN)
    name = first(data, "name")
    await _flash_outcome(sess, editing.remove_rule(_notifier(request), name), f"rule {name}")
    return redirect(request, LIST)


# ---------------------------------------------------------------------- channels
def _channel_fields(kind: str) -> list[FormField]:
    spec = SPECS.get(kind)
    if spec is None:
        return []
    return mf.fields_of(spec, skip=("type",), secrets=SECRET_FIELDS, advanced=CHANNEL_MORE)


@router.get("/setup/channel")
async def channel_page(request: Request, sess: Admin, name: str = "", type: str = "") -> Response:
    if name:
        stored = await _stored_spec(_notifier(request), name)
        kind = str(stored.get("type", ""))
        fields = _channel_fields(kind)
        secrets = {k for k in SECRET_FIELDS if stored.get(k)}
        values = mf.shown(fields, stored)
        return _channel_form(request, sess, kind, fields, values, {}, name, secrets)
    spec = SPECS.get(type)
    if spec is None:
        errors = {"type": [f"choose one of {', '.join(SPECS)}"]}
        return _channel_form(request, sess, type, [], {}, errors, "", set(), 404)
    fields = _channel_fields(type)
    values = mf.shown(fields, mf.defaults(spec))
    return _channel_form(request, sess, type, fields, values, {}, "", set())


async def _stored_spec(n: Notifier, name: str) -> dict[str, Any]:
    """The stored spec, secrets opened: only to tell which are set and to keep them."""
    try:
        return await asyncio.to_thread(n.store.channel_spec, name)
    except NotFound as exc:
        raise Missing(str(exc)) from exc


@router.post("/setup/channel")
async def save_channel(request: Request) -> Response:
    """Add a channel, or change one keeping its name and type."""
    sess, data = await form_of(request, Role.ADMIN)
    n = _notifier(request)
    original, kind = first(data, "original"), first(data, "type")
    fields = _channel_fields(kind)
    stored = await _stored_spec(n, original) if original else {}
    kept = {k for k in SECRET_FIELDS if stored.get(k) and first(data, f"clear.{k}") != "on"}
    try:
        spec = {**_not_in_form(stored, fields), **mf.read(fields, data), "type": kind}
        spec.update({k: MASK for k in kept if not spec.get(k)})  # kept by editing.channel_of
        name = original or first(data, "name")
        channel = await _channel_of(n, {"name": name, "spec": spec}, fields)
        await _written(
            editing.save_channel(n, channel, site_of(request).clock(), create=not original)
        )
    except FormErrors as exc:
        values = {**mf.typed(fields, data), "name": first(data, "name")}
        retype = {f.name for f in fields if f.kind == "secret" and first(data, f.name)}
        return _channel_form(
            request, sess, kind, fields, values, exc.errors, original, kept, 422, retype
        )
    sess.flash.append(("ok", f"channel {channel.name} {'saved' if original else 'added'}"))
    return redirect(request, LIST)


def _not_in_form(stored: dict[str, Any], fields: list[FormField]) -> dict[str, Any]:
    """Stored settings the form does not show (Zulip's ``controls``): kept on an edit."""
    names = {f.name for f in fields}
    return {k: v for k, v in stored.items() if k not in names and k not in SECRET_FIELDS}


async def _channel_of(n: Notifier, body: dict[str, Any], fields: list[FormField]) -> Channel:
    try:
        return await editing.channel_of(n, body)
    except pydantic.ValidationError as exc:
        raise FormErrors(mf.field_errors(exc, [*fields, NAME, TYPE], _in_spec)) from exc


def _in_spec(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """A channel error's path as a form field: ``spec.webhook.url`` → ``url``; an unknown
    type (just ``spec``) → ``type``."""
    if loc[:1] != ("spec",):
        return loc
    return loc[2:] if len(loc) > 1 else ("type",)


def _channel_form(
    request: Request,
    sess: Session,
    kind: str,
    fields: list[FormField],
    values: dict[str, Any],
    errors: Errors,
    original: str,
    secrets_set: set[str],
    status: int = 200,
    retype: set[str] | None = None,
) -> Response:
    """``retype``: secrets typed into a refused form, which are not shown back either."""
    return render(
        request,
        sess,
        "setup_notify_form.html",
        status_code=status,
        title=f"Channel {original}" if original else f"New {kind} channel",
        what="channel",
        kind=kind,
        original=original,
        fields=fields,
        values=values,
        errors=errors,
        secrets_set=secrets_set,
        retype=retype or set(),
        period="",
    )


@router.post("/setup/channel/delete")
async def delete_channel(request: Request) -> Response:
    sess, data = await form_of(request, Role.ADMIN)
    name = first(data, "name")
    await _flash_outcome(sess, editing.remove_channel(_notifier(request), name), f"channel {name}")
    return redirect(request, LIST)


# ---------------------------------------------------------------------- shared
def _model(model: type[Rule], body: dict[str, Any], fields: list[FormField]) -> Rule:
    try:
        return model.model_validate(body)
    except pydantic.ValidationError as exc:
        raise FormErrors(mf.field_errors(exc, fields)) from exc


async def _written(write: Any) -> None:
    """Await a write of ``notify.editing``; its refusals become the form's errors."""
    try:
        await write
    except PermissionDenied as exc:  # SaaS mode's allow-list: the 403 page says why
        raise Forbidden(str(exc)) from exc
    except ValidationError as exc:
        raise FormErrors({".".join(map(str, exc.loc[:1])): [str(exc)]}) from exc
    except Conflict as exc:
        raise FormErrors({"name": [str(exc)]}) from exc
    except LookoutError as exc:
        raise FormErrors({"": [str(exc)]}) from exc


async def _flash_outcome(sess: Session, write: Any, what: str) -> None:
    try:
        await write
    except LookoutError as exc:
        sess.flash.append(("error", str(exc)))
    else:
        sess.flash.append(("ok", f"{what} removed"))
