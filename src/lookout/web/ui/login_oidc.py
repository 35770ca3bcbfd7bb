"""Log-in through the site's OpenID Connect provider (``[oidc]``): ``/login/oidc`` sends the
browser there, ``/login/oidc/callback`` takes it back, checks what came (``oidc.py``), maps the
provider's groups to a role, makes the user the first time (``storage.identities``) and logs
them in. Every refusal is a page that says why; the log line says it too, never with a token
or the secret."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from lookout.auth import Role
from lookout.errors import Conflict
from lookout.storage import identities
from lookout.web.ui.login import set_cookie, start_session
from lookout.web.ui.oidc import FLOW_SECONDS, OidcClient
from lookout.web.ui.oidc_checks import Refused, groups_of, role_for
from lookout.web.ui.timing import TimedRoute
from lookout.web.ui.web import Missing, render, root_of, safe_next, session_cookie, site_of

router = APIRouter(include_in_schema=False, route_class=TimedRoute)
log = logging.getLogger(__name__)
USER_NAME = re.compile(r"^[^/\x00-\x1f\s][^/\x00-\x1f]{0,254}$")


def client_of(request: Request) -> OidcClient:
    client: OidcClient | None = request.app.state.ui_oidc
    if client is None:
        raise Missing("OpenID Connect log-in is not set up on this site ([oidc] issuer)")
    return client


def _flow_cookie(request: Request) -> str:
    return f"{session_cookie(request)}_oidc"


def _refused(request: Request, why: str, status: int = 403) -> Response:
    log.warning("OpenID Connect log-in refused: %s", why)
    return render(request, None, "error.html", status, title="Log-in refused", why=why)


@router.get("/login/oidc")
async def start(request: Request, next: str = "/") -> Response:
    client = client_of(request)
    try:
        url, binding = await client.start(safe_next(next, "/", root_of(request)))
    except Refused as exc:
        return _refused(request, str(exc), 502)
    go = RedirectResponse(url, status_code=303)
    set_cookie(request, go, _flow_cookie(request), binding, int(FLOW_SECONDS), "/login/oidc")
    return go


@router.get("/login/oidc/callback")
async def callback(request: Request) -> Response:
    client = client_of(request)
    params = request.query_params
    if "error" in params:
        said = params.get("error_description") or params["error"]
        return _refused(request, f"the provider did not log you in: {said[:300]}")
    try:
        flow = client.take(params.get("state", ""), request.cookies.get(_flow_cookie(request)))
        claims = await client.finish(flow, params.get("code", ""))
        name, role = _who(client, claims)
    except Refused as exc:
        return _refused(request, str(exc))
    site = site_of(request)
    try:
        user, before = await asyncio.to_thread(
            identities.log_in,
            site.db,
            client.settings.issuer,
            claims["sub"],
            name,
            role,
            str(claims.get("email", ""))[:255],
            site.clock(),
        )
    except Conflict as exc:
        return _refused(request, str(exc), 409)
    if before is None:
        after = {"role": role, "via": "oidc", "issuer": client.settings.issuer}
        await site.audit.record("user", user, "create", after=after, author=user)
    elif before != role:
        change = {"before": {"role": before}, "after": {"role": role}}
        await site.audit.record("user", user, "role", author=user, **change)
    done = RedirectResponse(flow.next, status_code=303)
    done.delete_cookie(_flow_cookie(request), path=root_of(request) + "/login/oidc")
    return await start_session(request, done, user, Role(role))


def _who(client: OidcClient, claims: dict[str, Any]) -> tuple[str, str]:
    """The user name and role the claims give, or :class:`Refused` saying why not."""
    settings = client.settings
    groups = groups_of(claims, settings.groups_claim)
    if groups is None:
        raise Refused(
            f"the provider sent no {settings.groups_claim!r} claim: ask for the scope that "
            "carries it ([oidc] scopes) or name the claim ([oidc] groups_claim)"
        )
    role = role_for(groups, settings.role_map)
    if role is None:
        shown = ", ".join(sorted(groups)[:20]) or "none"
        raise Refused(
            f"none of your groups ({shown}) has a role on this site: an admin maps one in "
            "[oidc] role_map"
        )
    for key in (settings.username_claim, "email", "sub"):
        value = claims.get(key)
        if isinstance(value, str) and USER_NAME.match(value):
            return value, role.value
    raise Refused(f"the provider sent no usable user name ({settings.username_claim}, email, sub)")
