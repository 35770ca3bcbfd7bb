"""The sign-up pages. Every request from one client address counts against its hourly
allowance; the page after "send me a code" is the same whether or not the address has an
account, and so is its timing (a mail goes out in both cases)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from lookout.errors import TemporaryFailure
from lookout.manager.signup.flow import Refused, Signup, normal_email
from lookout.manager.signup.provider import AccountProvider, ProviderError
from lookout.web.ui.timing import SECURITY_HEADERS
from lookout.web.ui.web import HERE as UI_HERE

log = logging.getLogger(__name__)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _page(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request, name, ctx, status_code=status, headers={"Cache-Control": "no-store"}
    )


def make_app(signup: Signup, provider: AccountProvider | None = None) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    static = StaticFiles(directory=UI_HERE / "static")
    app.mount("/signup/static", static, name="static")  # under /signup: behind the front door

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    async def form(request: Request) -> dict[str, str]:
        data = await request.form()
        return {k: v[:2000] for k, v in data.items() if isinstance(v, str)}

    async def blocked(request: Request) -> Response | None:
        return await _blocked(signup, request)

    @app.get("/")
    async def home() -> Response:
        return RedirectResponse("/signup", status_code=303)

    @app.get("/signup")
    async def start(request: Request) -> Response:
        return _page(request, "signup.html")

    @app.post("/signup")
    async def ask(request: Request) -> Response:
        if (refusal := await blocked(request)) is not None:
            return refusal
        data = await form(request)
        try:
            email = normal_email(data.get("email", ""))
        except Refused as exc:
            return _page(request, "signup.html", 400, error=exc.why, email=data.get("email"))
        try:
            await signup.request_code(email)
        except TemporaryFailure as exc:
            log.error("sign-up mail: %s", exc)
            why = "The mail could not be sent just now: try again in a few minutes."
            return _page(request, "signup.html", 503, error=why, email=email)
        return _page(request, "code.html", email=email)

    @app.post("/signup/code")
    async def code(request: Request) -> Response:
        if (refusal := await blocked(request)) is not None:
            return refusal
        data = await form(request)
        email = data.get("email", "")
        try:
            token = await asyncio.to_thread(signup.check_code, email, data.get("code", ""))
        except Refused as exc:
            return _page(request, "code.html", exc.status, email=email, error=exc.why)
        return _page(request, "account.html", email=email, token=token)

    @app.post("/signup/account")
    async def account(request: Request) -> Response:
        if (refusal := await blocked(request)) is not None:
            return refusal
        data = await form(request)
        email, token, site = data.get("email", ""), data.get("token", ""), data.get("site", "")
        try:
            url = await signup.create(email, token, data.get("password", ""), site)
        except Refused as exc:
            if exc.status == 403:
                return _page(request, "signup.html", 403, error=exc.why)
            ctx = {"email": email, "token": token, "site": site}
            return _page(
                request, "account.html", exc.status, error=f"{exc.field}: {exc.why}", **ctx
            )
        log.info("signed up: site %s", site)
        return RedirectResponse(url, status_code=303)

    @app.get("/signup/sites")
    async def sites_form(request: Request) -> Response:
        return _page(request, "sites.html")

    @app.post("/signup/sites")
    async def more_site(request: Request) -> Response:
        if (refusal := await blocked(request)) is not None:
            return refusal
        data = await form(request)
        email, site = data.get("email", "").strip(), data.get("site", "")
        try:
            url = await signup.add_site(email, data.get("password", ""), site)
        except Refused as exc:
            ctx = {"email": email, "site": site}
            return _page(request, "sites.html", exc.status, error=f"{exc.field}: {exc.why}", **ctx)
        log.info("further site %s", site)
        return RedirectResponse(url, status_code=303)

    if provider is not None:
        add_provider(app, signup, provider)
    return app


def add_provider(app: FastAPI, signup: Signup, provider: AccountProvider) -> None:
    """The control plane's OpenID provider routes (``provider.py``)."""
    cookie = "lookout_account"

    def refused(request: Request, exc: ProviderError, status: int = 400) -> Response:
        return _page(request, "signup.html", status, error=f"Refused: {exc.why}")

    @app.get("/.well-known/openid-configuration")
    async def discovery() -> JSONResponse:
        return JSONResponse(provider.discovery())

    @app.get("/oidc/jwks")
    async def jwks() -> JSONResponse:
        return JSONResponse(provider.jwks())

    @app.get("/oidc/authorize")
    async def authorize(request: Request) -> Response:
        params = dict(request.query_params)
        try:
            await asyncio.to_thread(provider.check_request, params)
        except ProviderError as exc:
            return refused(request, exc)
        email = provider.session_user(request.cookies.get(cookie))
        if email is None:
            return _page(request, "provider_login.html", query=request.url.query)
        url = await asyncio.to_thread(provider.authorize, params, email)
        return RedirectResponse(url, status_code=303)

    @app.post("/oidc/authorize")
    async def authorize_login(request: Request) -> Response:
        if (refusal := await _blocked(signup, request)) is not None:
            return refusal
        data = await request.form()
        query = str(data.get("query", ""))[:4000]
        params = dict(parse_qsl(query))
        try:
            await asyncio.to_thread(provider.check_request, params)
        except ProviderError as exc:
            return refused(request, exc)
        email, password = str(data.get("email", "")).strip(), str(data.get("password", ""))
        session = await asyncio.to_thread(provider.log_in, email, password[:1024])
        if session is None:
            why = "Wrong e-mail or password."
            return _page(request, "provider_login.html", 401, query=query, email=email, error=why)
        url = await asyncio.to_thread(provider.authorize, params, email)
        done = RedirectResponse(url, status_code=303)
        secure = request.url.scheme == "https"
        done.set_cookie(cookie, session, httponly=True, samesite="lax", secure=secure, path="/")
        return done

    @app.post("/oidc/token")
    async def token(request: Request) -> JSONResponse:
        data = await request.form()
        form = {k: v[:4000] for k, v in data.items() if isinstance(v, str)}
        try:
            body = await asyncio.to_thread(
                provider.token, form, request.headers.get("authorization", "")
            )
        except ProviderError as exc:
            status = 401 if exc.error == "invalid_client" else 400
            error = {"error": exc.error, "error_description": exc.why}
            return JSONResponse(error, status_code=status, headers={"Cache-Control": "no-store"})
        return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def _blocked(signup: Signup, request: Request) -> Response | None:
    client = request.client.host if request.client else ""
    if await asyncio.to_thread(signup.client_blocked, client):
        why = "Too many requests from your address: try again in an hour."
        return _page(request, "signup.html", 429, error=why)
    return None
