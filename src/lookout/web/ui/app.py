"""Mounts the web UI on the site's FastAPI app, next to ``/api/v1``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from lookout.web.ui import (
    act,
    audit_page,
    central_page,
    checkrule_forms,
    cluster_forms,
    login,
    login_link,
    login_oidc,
    login_totp,
    notify_forms,
    object_pages,
    pages,
    profile,
    profile_totp,
    reports,
    setup_forms,
)
from lookout.web.ui.oidc import OidcClient, read_secret
from lookout.web.ui.pending import PendingLogins
from lookout.web.ui.sessions import SessionStore, cookie_names
from lookout.web.ui.shown_once import ShownOnce
from lookout.web.ui.throttle import LoginThrottle
from lookout.web.ui.timing import SECURITY_HEADERS
from lookout.web.ui.totp import TwoFactor
from lookout.web.ui.web import HERE, Forbidden, LoginRequired, Missing, current, redirect, render


def install(app: FastAPI) -> None:
    """Add the UI's routes, static files, session store and error pages to ``app``."""
    site = app.state.site
    app.state.ui_sessions = SessionStore(site.db, site.settings.ui.session_hours * 3600)
    app.state.ui_cookies = cookie_names(site.settings.site_name, site.settings.url)
    app.state.ui_shown_once = ShownOnce(site.db, site.vault, site.clock)
    app.state.ui_throttle = LoginThrottle(db=site.db, now=site.clock())
    app.state.ui_pending = PendingLogins()
    issuer = f"Lookout {site.settings.site_name}"
    app.state.ui_twofactor = TwoFactor(site.db, site.vault, site.clock, issuer)
    app.state.ui_oidc = _oidc_client(site)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    app.include_router(pages.router)
    app.include_router(object_pages.router)
    for router in (
        login.router,
        login_totp.router,
        login_oidc.router,
        login_link.router,
        act.router,
        central_page.router,
        setup_forms.router,
        checkrule_forms.router,
        notify_forms.router,
        cluster_forms.router,
        profile.router,
        profile_totp.router,
        reports.router,
        audit_page.router,
    ):
        app.include_router(router)

    async def on_login_required(request: Request, _: Exception) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from urllib.parse import quote

        return redirect(request, f"/login?next={quote(target, safe='')}")

    async def on_forbidden(request: Request, exc: Exception) -> Response:
        why = exc.why if isinstance(exc, Forbidden) else "refused"
        page = render(request, current(request), "error.html", 403, title="Refused", why=why)
        page.headers.update(SECURITY_HEADERS)  # raised past the route class that adds them
        return page

    async def on_missing(request: Request, exc: Exception) -> Response:
        why = exc.why if isinstance(exc, Missing) else "not found"
        page = render(request, current(request), "error.html", 404, title="Not found", why=why)
        page.headers.update(SECURITY_HEADERS)
        return page

    app.add_exception_handler(LoginRequired, on_login_required)
    app.add_exception_handler(Forbidden, on_forbidden)
    app.add_exception_handler(Missing, on_missing)


def _oidc_client(site: Any) -> OidcClient | None:
    """The site's OpenID Connect client, None without ``[oidc] issuer`` (the secret file is
    read now, so a missing one stops the start with a clear error)."""
    settings = site.settings.oidc
    if not settings.issuer:
        return None
    secret = read_secret(site.dir, settings)
    redirect = f"{site.settings.url.rstrip('/')}/login/oidc/callback"
    return OidcClient(settings, secret, redirect, site.clock)
