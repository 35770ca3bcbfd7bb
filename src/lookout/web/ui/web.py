"""Shared pieces of the UI routes: sessions and roles, CSRF, templates, formatting helpers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from lookout.auth import Role
from lookout.domain import audit
from lookout.domain.events import Event
from lookout.domain.values import is_time
from lookout.engine.core import Engine
from lookout.web.ui import queries
from lookout.web.ui.pending import PendingLogins
from lookout.web.ui.sessions import Session, SessionStore
from lookout.web.ui.totp import TwoFactor

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


class LoginRequired(Exception):
    """A page was asked for without a valid session: send the browser to the login page."""


class Forbidden(Exception):
    """Refused: no session, a missing or wrong CSRF token, or a role that may not do this."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class Missing(Exception):
    """A page about a host or service that does not exist (404 page)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def session_cookie(request: Request) -> str:
    """This site's session cookie name (``sessions.cookie_names``)."""
    name: str = request.app.state.ui_cookies[0]
    return name


def login_cookie(request: Request) -> str:
    """This site's log-in form cookie name."""
    name: str = request.app.state.ui_cookies[1]
    return name


def pending_cookie(request: Request) -> str:
    """This site's half-log-in cookie (password right, second factor to come)."""
    return f"{session_cookie(request)}_2fa"


def pending_of(request: Request) -> PendingLogins:
    store: PendingLogins = request.app.state.ui_pending
    return store


def twofactor_of(request: Request) -> TwoFactor:
    service: TwoFactor = request.app.state.ui_twofactor
    return service


def site_of(request: Request) -> Any:
    return request.app.state.site


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.site.engine
    return engine


def sessions_of(request: Request) -> SessionStore:
    store: SessionStore = request.app.state.ui_sessions
    return store


def current(request: Request) -> Session | None:
    """The request's session (None: not logged in); its user is who acts, for the audit log."""
    sess = sessions_of(request).lookup(
        request.cookies.get(session_cookie(request)), site_of(request).clock()
    )
    door = audit.current()
    if sess is not None and door is not None:
        door.user = sess.user
    return sess


def viewer(request: Request) -> Session:
    """A page dependency: the logged-in session, or off to the login page."""
    sess = current(request)
    if sess is None:
        raise LoginRequired()
    return sess


def admin_page(request: Request) -> Session:
    sess = viewer(request)
    if not sess.can(Role.ADMIN):
        raise Forbidden(f"role {sess.role} may not configure the site (needs admin)")
    return sess


async def form_of(request: Request, needed: Role) -> tuple[Session, dict[str, list[str]]]:
    """The session and form of a state-changing POST, after the session, CSRF token and role
    checks (each refusal is a 403)."""
    sess = current(request)
    if sess is None:
        raise Forbidden("not logged in")
    form = await request.form()
    data: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            data.setdefault(key, []).append(value)
    token = (data.get("csrf") or [request.headers.get("x-csrf-token", "")])[0]
    if not sess.csrf_ok(token):
        raise Forbidden("missing or wrong CSRF token: reload the page and try again")
    if not sess.can(needed):
        raise Forbidden(f"role {sess.role} may not do this (needs {needed})")
    return sess, data


def first(data: dict[str, list[str]], key: str, default: str = "") -> str:
    values = data.get(key)
    return values[0].strip() if values else default


def root_of(request: Request) -> str:
    """The path the site is served under: ``/<site>`` behind the site manager's front door
    (``web.prefix.ForwardedPrefix`` sets it), else empty."""
    return str(request.scope.get("root_path", ""))


def safe_next(target: str | None, default: str, root: str = "") -> str:
    """A local path of this site to go back to (never another site or another site's prefix:
    no scheme, no ``//``, under ``root``); ``default`` (a path of the site) otherwise."""
    if not target or not target.startswith(root + "/") or target.startswith("//") or "\\" in target:
        return root + default
    return target


def redirect(request: Request, path: str) -> RedirectResponse:
    """303 to ``path`` of this site (under its prefix)."""
    return RedirectResponse(root_of(request) + path, status_code=303)


def back(request: Request, data: dict[str, list[str]], default: str = "/") -> RedirectResponse:
    target = safe_next(first(data, "next"), default, root_of(request))
    return RedirectResponse(target, status_code=303)


# ---------------------------------------------------------------------- links and formats
def host_url(host: str) -> str:
    return f"/host?name={quote(host, safe='')}"


def service_url(host: str, service: str) -> str:
    if not service:
        return host_url(host)
    return f"/service?host={quote(host, safe='')}&name={quote(service, safe='')}"


def target_value(host: str, service: str) -> str:
    """A checkbox/hidden value naming one object (``host:service``, both percent-encoded)."""
    return f"{quote(host, safe='')}:{quote(service, safe='')}"


def parse_target(value: str) -> tuple[str, str]:
    host, _, service = value.partition(":")
    return unquote(host), unquote(service)


def age(seconds: float) -> str:
    """``42s``, ``5m``, ``3h 12m``, ``4d 2h``."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def when(ts: float | None) -> str:
    if not ts:
        return "never"
    if not is_time(ts):  # stored by an older version; shown, not a 500
        return f"{ts:g} (not a time)"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


templates.env.globals.update(
    host_url=host_url,
    service_url=service_url,
    target_value=target_value,
    age=age,
    when=when,
    css_state=queries.css_state,
    label_of=queries.label_of,
)
ICONS = {"ok": "✔", "warn": "▲", "crit": "✖", "unknown": "?", "pending": "…"}
templates.env.globals["icons"] = ICONS


def render(
    request: Request, sess: Session | None, name: str, status_code: int = 200, **ctx: Any
) -> HTMLResponse:
    site = site_of(request)
    flash = [] if sess is None else list(sess.flash)
    if sess is not None:
        sess.flash.clear()
    unhandled = queries.unhandled_count(site.engine) if sess is not None else 0
    return templates.TemplateResponse(
        request,
        name,
        {
            "session": sess,
            "csrf": sess.csrf if sess else "",
            "can_act": sess is not None and sess.can(Role.OPERATOR),
            "is_admin": sess is not None and sess.can(Role.ADMIN),
            "handlers_on": site.handlers.active,
            "flash": flash,
            "unhandled": unhandled,
            "site_name": site.settings.site_name,
            "has_remotes": bool(site.central.links),
            "refresh_seconds": site.settings.ui.refresh_seconds,
            "live_marker": "{}:{}".format(*queries.live_marker(site)),
            "now": site.clock(),
            "root": root_of(request),
            "path": request.url.path.removeprefix(root_of(request)) or "/",
            "full_path": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "sso_name": _sso_name(request),
            **ctx,
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def _sso_name(request: Request) -> str | None:
    """The OpenID Connect provider's name for the log-in page's button (None: not set up)."""
    client = getattr(request.app.state, "ui_oidc", None)
    return None if client is None else str(client.settings.display_name)


def forbidden_page(request: Request, why: str) -> Response:
    return render(
        request, current(request), "error.html", status_code=403, title="Refused", why=why
    )


async def events_of(
    site: Any,
    *,
    host: str | None = None,
    service: str | None = None,
    start: float | None = None,
    types: tuple[str, ...] = (),
    limit: int = 200,
) -> list[Event]:
    """Events newest first: those committed but not yet stored, then the stored ones."""

    def keep(e: Event) -> bool:
        return (
            (host is None or e.host == host)
            and (service is None or e.service == service)
            and (start is None or e.at >= start)
            and (not types or e.type in types)
        )

    recent = [e for e in site.runner.recent_events() if keep(e)]
    stored = await asyncio.to_thread(
        site.store.query_events, start=start, host=host, service=service, types=types, limit=limit
    )
    seen = {e.id for e in recent}
    merged = recent + [e for e in stored if e.id not in seen]
    merged.sort(key=lambda e: (e.at, e.id), reverse=True)
    return merged[:limit]
