"""All sites (issue 12): the problems of this site and of its remote sites on one page, with a
site column and filter and how each remote answers; actions on the selected rows are carried
out by the site that owns each object (this one through its actions, a remote through its API
with the logged-in user as ``<user> via <the remote's user of our token>``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, unquote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from lookout.actions import Actions
from lookout.auth import Role
from lookout.errors import LookoutError
from lookout.sites.central import Central, Filter
from lookout.sites.remote_link import RemoteFailure
from lookout.web.ui.act import Invalid, act_on, duration_of
from lookout.web.ui.sessions import Session
from lookout.web.ui.timing import TimedRoute
from lookout.web.ui.web import back, first, form_of, render, site_of, viewer

router = APIRouter(include_in_schema=False, route_class=TimedRoute)
Viewer = Annotated[Session, Depends(viewer)]

STATES = {"warn": 1, "crit": 2, "unknown": 3}
_REMOTE_ACTIONS = {
    "ack": "acknowledge",
    "downtime": "schedule-downtime",
    "recheck": "recheck",
    "comment": "comment",
}


def central_target(site: str, host: str, service: str) -> str:
    """A checkbox value naming one object of one site (``site:host:service``, encoded)."""
    return ":".join(quote(p, safe="") for p in (site, host, service))


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Any]
    total: int
    unhandled: int
    page: int
    pages: int


@router.get("/central")
async def central(
    request: Request,
    sess: Viewer,
    site: str = Query("", max_length=63),
    state: list[str] = Query([]),
    handled: str = Query("all", pattern="^(all|no|yes)$"),
    host: str = Query("", max_length=255),
    page: int = Query(1, ge=1),
) -> Response:
    this = site_of(request)
    c: Central = this.central
    states = frozenset(STATES[s] for s in state if s in STATES) or frozenset(STATES.values())
    known = site in c.sites()
    f = Filter(
        site=site if known else None,
        host=host or None,
        states=states,
        handled=None if handled == "all" else handled == "yes",
    )
    rows = c.rows(f)
    size = this.settings.ui.page_size
    pages = max(1, math.ceil(rows.total / size))
    shown = rows.slice((page - 1) * size, page * size)
    query = urlencode(
        [("site", site), ("host", host), ("handled", handled)] + [("state", s) for s in state]
    )
    return render(
        request,
        sess,
        "central.html",
        title="All sites",
        remotes=c.health(),
        sites=c.sites(),
        this_site=c.name,
        rows=shown,
        result=Page(shown, rows.total, rows.unhandled, page, pages),
        chosen={"site": site, "host": host, "handled": handled, "states": set(state)},
        unknown_site=site if site and not known else "",
        query=query,
        central_target=central_target,
        live=True,
    )


@router.post("/central/act")
async def central_act(request: Request) -> Response:
    """Acknowledge, downtime, recheck or comment the selected objects of any site; each is
    done by its own site, and every refusal is shown as that site gave it."""
    sess, data = await form_of(request, Role.OPERATOR)
    this = site_of(request)
    c: Central = this.central
    actions: Actions = request.app.state.actions
    action = first(data, "action")
    comment = first(data, "comment")
    targets = [_parse(v) for v in data.get("target", []) if v]
    done, failed = 0, []
    try:
        if action not in _REMOTE_ACTIONS:
            raise Invalid(f"unknown action {action!r}")
        if not targets:
            raise Invalid("choose at least one host or service")
        if action in ("ack", "downtime", "comment") and not comment:
            raise Invalid(f"a{'n' if action == 'ack' else ''} {action} needs a comment")
        seconds = (
            duration_of(first(data, "duration"), first(data, "duration_text"))
            if action == "downtime"
            else 0.0
        )
        for owner, host, service in targets:
            name = f"{owner}: {host}{'/' + service if service else ''}"
            try:
                if owner == c.name:
                    await act_on(actions, this, action, host, service, sess.user, comment, data)
                else:
                    body = _body(action, host, service, comment, this.clock(), seconds)
                    answer = await c.act(owner, _REMOTE_ACTIONS[action], body, sess.user)
                    if answer.status >= 300:
                        failed.append(f"{name}: refused by {owner}: {_said(answer.body)}")
                        continue
                done += 1
            except (LookoutError, RemoteFailure) as exc:
                failed.append(f"{name}: {exc}")
    except (Invalid, LookoutError) as exc:
        sess.flash.append(("error", str(exc)))
        return back(request, data, "/central")
    if done:
        sess.flash.append(("ok", f"{action}: {done} object{'s' if done != 1 else ''}"))
    for text in failed[:10]:
        sess.flash.append(("error", text))
    return back(request, data, "/central")


def _parse(value: str) -> tuple[str, str, str]:
    parts = value.split(":")
    if len(parts) != 3:
        raise Invalid(f"not a target: {value[:80]!r}")
    owner, host, service = (unquote(p) for p in parts)
    return owner, host, service


def _body(
    action: str, host: str, service: str, comment: str, now: float, seconds: float
) -> dict[str, Any]:
    body: dict[str, Any] = {"host": host, "service": service or None}
    if action != "recheck":
        body["comment"] = comment
    if action == "downtime":
        body.update(start=now, end=now + seconds)
    return body


def _said(body: Any) -> str:
    if isinstance(body, dict):
        return f"{body.get('status', '')} {body.get('detail', body)}".strip()
    return str(body)
