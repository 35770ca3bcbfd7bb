"""The operator's actions: acknowledge, remove acknowledgement, downtime, remove downtime,
comment, recheck — for one object or many (the problem list's selection). Each goes through
:class:`lookout.actions.Actions`, the REST API's instance, with the logged-in user as author."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from lookout.actions import Actions
from lookout.auth import Role
from lookout.domain import durations
from lookout.domain.values import InvalidValue
from lookout.engine.inputs import Target
from lookout.errors import LookoutError
from lookout.web.ui.timing import TimedRoute
from lookout.web.ui.web import back, first, form_of, parse_target, site_of

router = APIRouter(include_in_schema=False, route_class=TimedRoute)

DURATIONS = {"1h": 3600, "8h": 8 * 3600, "1d": 86400, "7d": 7 * 86400}


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
            ids = [int(v) for v in data.get("downtime", []) if v.isascii() and v.isdigit()]
            if not ids:
                raise Invalid("choose a downtime to remove")
            out = await actions.remove_downtime(author=sess.user, comment=comment, ids=ids)
            done = len(out.ids)
        else:
            if not targets:
                raise Invalid("choose at least one host or service")
            for host, service in targets:
                try:
                    await act_on(actions, site, action, host, service, sess.user, comment, data)
                    done += 1
                except LookoutError as exc:
                    failed.append(f"{host}{'/' + service if service else ''}: {exc}")
    except (Invalid, LookoutError) as exc:
        sess.flash.append(("error", str(exc)))
        return back(request, data)
    verb = _VERBS.get(action, action)
    if done:
        sess.flash.append(("ok", f"{verb}: {done} object{'s' if done != 1 else ''}"))
    for text in failed[:10]:
        sess.flash.append(("error", text))
    return back(request, data)


_VERBS = {
    "ack": "Acknowledged",
    "unack": "Acknowledgement removed",
    "downtime": "Downtime scheduled",
    "recheck": "Recheck requested",
    "comment": "Comment added",
    "remove_downtime": "Downtime removed",
}


class Invalid(Exception):
    pass


async def act_on(
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
            raise Invalid("an acknowledgement needs a comment (what is being done about it?)")
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
            raise Invalid("a downtime needs a comment (why?)")
        seconds = duration_of(first(data, "duration"), first(data, "duration_text"))
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
        raise Invalid(f"unknown action {action!r}")


def duration_of(preset: str, typed: str) -> float:
    """A typed duration (the one grammar: 90m, 2h30m, 1w) wins over the preset buttons."""
    if typed.strip():
        try:
            return durations.parse_duration(typed)
        except InvalidValue as exc:
            raise Invalid(f"duration: {exc}") from None
    if preset in DURATIONS:
        return float(DURATIONS[preset])
    raise Invalid(f"duration: choose 1h, 8h, 1d or 7d, or type one (like {durations.EXAMPLES})")
